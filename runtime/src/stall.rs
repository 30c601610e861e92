//! Stall detection: a task poll, or a loop turn, that keeps the core from its ring for longer
//! than a threshold (see [`Builder::stall_threshold`](crate::Builder::stall_threshold)).
//!
//! In a thread-per-core runtime a blocking call (a `std::thread::sleep`, a synchronous DNS
//! lookup, a long computation) freezes every task and every connection of its core. The
//! executor reads a cheap clock (see `clock.rs`) once per task poll and reports:
//! - a **poll** longer than the threshold, naming the task's spawn location;
//! - a **turn** (the tasks run between two looks at the ring) longer than the threshold whose
//!   polls were each shorter (many medium polls in a row), naming the slowest task.
//!
//! A report goes to the [`Builder::on_stall`](crate::Builder::on_stall) callback when one is
//! set; otherwise it is a `tracing` warning (with the `tracing` feature) or one line on stderr,
//! at most one line per second for the whole process (the line counts the ones left out).

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The default stall threshold: 10 ms.
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(10);

/// What stalled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StallKind {
    /// One poll of one task took longer than the threshold.
    Poll,
    /// The tasks run in one loop turn took longer than the threshold together, although each
    /// poll was shorter.
    Turn,
}

/// One stall: which core, what, how long, and where the guilty task was spawned.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StallReport {
    /// The core that stalled ([`core_id`](crate::core_id)).
    pub core: usize,
    /// A single poll, or a whole turn.
    pub kind: StallKind,
    /// Where the task was spawned (`spawn`, `spawn_on`, `JoinSet::spawn`, or the `block_on`
    /// call for the main future); for a turn, the task whose poll was the longest.
    pub location: &'static Location<'static>,
    /// How long the poll (or the turn) kept the core from its ring.
    pub duration: Duration,
    /// Task polls in the turn (1 for [`StallKind::Poll`]).
    pub polls: usize,
}

impl fmt::Display for StallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StallKind::Poll => write!(
                f,
                "core {} stalled for {:?} in one poll of the task spawned at {}",
                self.core, self.duration, self.location
            )?,
            StallKind::Turn => write!(
                f,
                "core {} stalled for {:?} in one loop turn of {} task polls (longest: the task \
                 spawned at {})",
                self.core, self.duration, self.polls, self.location
            )?,
        }
        f.write_str(
            ": a blocking call on a core freezes all its tasks; move it to \
             ringbolt::task::spawn_blocking or yield in long loops",
        )
    }
}

/// The callback of [`Builder::on_stall`](crate::Builder::on_stall).
pub(crate) type StallHook = Arc<dyn Fn(&StallReport) + Send + Sync>;

/// The observability settings of a [`Builder`](crate::Builder), carried to every core.
#[derive(Clone)]
pub(crate) struct ObsConfig {
    /// `None`: stall detection off.
    pub(crate) stall_threshold: Option<Duration>,
    pub(crate) on_stall: Option<StallHook>,
    pub(crate) metrics: bool,
}

impl Default for ObsConfig {
    fn default() -> Self {
        ObsConfig {
            stall_threshold: Some(DEFAULT_STALL_THRESHOLD),
            on_stall: None,
            metrics: false,
        }
    }
}

impl fmt::Debug for ObsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObsConfig")
            .field("stall_threshold", &self.stall_threshold)
            .field("on_stall", &self.on_stall.as_ref().map(|_| "callback"))
            .field("metrics", &self.metrics)
            .finish()
    }
}

/// Hands a report to the hook, or to the default reporter.
#[cold]
#[inline(never)]
pub(crate) fn report(r: &StallReport, hook: Option<&StallHook>) {
    if let Some(h) = hook {
        // A panicking hook must not unwind through the event loop.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(r)));
        return;
    }
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "ringbolt::stall",
        core = r.core,
        kind = ?r.kind,
        location = %r.location,
        duration_us = r.duration.as_micros() as u64,
        polls = r.polls,
        "{r}"
    );
    #[cfg(not(feature = "tracing"))]
    {
        static LIMIT: RateLimit = RateLimit::new();
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let now_ms = START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_millis() as u64;
        if let Some(left_out) = LIMIT.admit(now_ms) {
            if left_out > 0 {
                eprintln!("ringbolt: {r} ({left_out} more stalls in the last second not shown)");
            } else {
                eprintln!("ringbolt: {r}");
            }
        }
    }
}

/// At most one admitted event per second; counts the others.
#[cfg_attr(feature = "tracing", allow(dead_code))]
pub(crate) struct RateLimit {
    /// Milliseconds + 1 of the last admitted event (0: none yet).
    last: AtomicU64,
    suppressed: AtomicU64,
}

#[cfg_attr(feature = "tracing", allow(dead_code))]
impl RateLimit {
    pub(crate) const fn new() -> RateLimit {
        RateLimit {
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(events left out since the last admitted one)` if this event may be shown.
    pub(crate) fn admit(&self, now_ms: u64) -> Option<u64> {
        let stamp = now_ms + 1;
        let last = self.last.load(Ordering::Acquire);
        if (last != 0 && stamp.saturating_sub(last) < 1000)
            || self
                .last
                .compare_exchange(last, stamp, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_admits_one_a_second_and_counts_the_rest() {
        let l = RateLimit::new();
        assert_eq!(l.admit(0), Some(0));
        assert_eq!(l.admit(10), None);
        assert_eq!(l.admit(999), None);
        assert_eq!(l.admit(1000), Some(2));
        assert_eq!(l.admit(1500), None);
        assert_eq!(l.admit(2100), Some(1));
        assert_eq!(l.admit(5000), Some(0));
    }
}
