//! A cheap monotonic tick counter for stall detection and metrics.
//!
//! Reading `Instant::now()` costs a `clock_gettime` (tens of nanoseconds, more under a
//! hypervisor); a task poll can be shorter than that. On x86_64 with the kernel's clock source
//! on the TSC (invariant, synchronised across CPUs), a tick is one `rdtsc`; elsewhere it is
//! nanoseconds of `Instant`. Ticks become nanoseconds with a factor calibrated once per process
//! (about 1 ms of spinning, the first time a runtime with timing on is built).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// True when ticks are TSC cycles; false: nanoseconds since `base()`.
static TSC: AtomicBool = AtomicBool::new(false);

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The current tick. Compare only ticks read after [`calibrate`].
#[inline]
pub(crate) fn ticks() -> u64 {
    if uses_tsc() {
        ticks_from::<true>()
    } else {
        ticks_from::<false>()
    }
}

/// Whether ticks are TSC cycles (fixed once [`calibrate`] ran). A loop that reads the clock
/// on every iteration asks once and reads it with [`ticks_from`], which saves the question
/// (a load and a branch) per read.
#[inline]
pub(crate) fn uses_tsc() -> bool {
    cfg!(target_arch = "x86_64") && TSC.load(Ordering::Relaxed)
}

/// [`ticks`] with the source already known: `TSC_SOURCE` is what [`uses_tsc`] said.
#[inline(always)]
pub(crate) fn ticks_from<const TSC_SOURCE: bool>() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if TSC_SOURCE {
        // SAFETY: `rdtsc` has no preconditions and exists on every x86_64 CPU.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    base().elapsed().as_nanos() as u64
}

/// Nanoseconds per tick, fixed point with 32 fractional bits.
fn scale() -> u64 {
    static SCALE: OnceLock<u64> = OnceLock::new();
    *SCALE.get_or_init(|| {
        let _ = base();
        if !tsc_usable() {
            return 1 << 32;
        }
        let (t0, i0) = pair();
        while i0.elapsed() < Duration::from_millis(1) {
            std::hint::spin_loop();
        }
        let (t1, i1) = pair();
        let ns = (i1 - i0).as_nanos() as u64;
        let ticks = t1.saturating_sub(t0).max(1);
        let q32 = ((u128::from(ns) << 32) / u128::from(ticks)) as u64;
        TSC.store(true, Ordering::Relaxed);
        q32.max(1)
    })
}

#[cfg(target_arch = "x86_64")]
fn pair() -> (u64, Instant) {
    // SAFETY: as in `ticks`.
    let t = unsafe { core::arch::x86_64::_rdtsc() };
    (t, Instant::now())
}

#[cfg(not(target_arch = "x86_64"))]
fn pair() -> (u64, Instant) {
    (0, Instant::now())
}

/// The TSC is used only where the kernel itself trusts it as its clock source.
fn tsc_usable() -> bool {
    cfg!(target_arch = "x86_64")
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

/// Makes [`ticks`] and the conversions ready; idempotent.
pub(crate) fn calibrate() {
    let _ = scale();
}

/// Ticks to nanoseconds.
#[inline]
pub(crate) fn to_nanos(ticks: u64) -> u64 {
    ((u128::from(ticks) * u128::from(scale())) >> 32) as u64
}

/// Nanoseconds to ticks (rounded down, at least 1 for a non-zero input).
pub(crate) fn from_nanos(ns: u64) -> u64 {
    let t = ((u128::from(ns) << 32) / u128::from(scale())) as u64;
    if ns > 0 {
        t.max(1)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_measure_a_sleep() {
        calibrate();
        let t0 = ticks();
        std::thread::sleep(Duration::from_millis(20));
        let ns = to_nanos(ticks().saturating_sub(t0));
        assert!(ns >= 19_000_000, "20 ms sleep measured as {ns} ns");
        assert!(ns < 5_000_000_000, "20 ms sleep measured as {ns} ns");
        let back = to_nanos(from_nanos(10_000_000));
        assert!((9_900_000..=10_100_000).contains(&back), "{back}");
    }
}
