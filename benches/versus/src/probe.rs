//! Cache-line probe: how far apart the host placed the server and client vCPUs right now.
//!
//! Two threads, pinned to the two CPUs, pass one cache line back and forth (an atomic counter:
//! one writes odd values, the other even). The result is nanoseconds per bounce, one bounce
//! being a round trip of the line (to the other CPU and back: ~150–200 ns when the vCPUs are
//! close, 3–5× that when the host placed them far apart). It is the median over batches, so a
//! batch that lost its CPU to another process does not count.
//!
//! Every spin is bounded by a deadline: a probe never hangs, it returns `None`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::affinity::pin_current_thread;
use crate::stats::median;

const BATCHES: u64 = 15;
const ROUNDS: u64 = 400;
const DEADLINE: Duration = Duration::from_millis(500);

#[repr(align(128))]
struct Line(AtomicU64);

/// Median ns per cache-line bounce between `cpu_a` and `cpu_b`; `None` when the CPUs are the same,
/// pinning fails or the deadline passes.
pub fn bounce_ns(cpu_a: usize, cpu_b: usize) -> Option<f64> {
    if cpu_a == cpu_b {
        return None;
    }
    let line = Arc::new(Line(AtomicU64::new(0)));
    let abort = Arc::new(AtomicBool::new(false));
    let (l2, a2) = (line.clone(), abort.clone());
    let responder = std::thread::spawn(move || respond(cpu_b, &l2, &a2));
    // The initiator gets its own thread too: pinning must not change the caller's affinity.
    let (l1, a1) = (line, abort.clone());
    let initiator = std::thread::spawn(move || initiate(cpu_a, &l1, &a1));
    let result = initiator.join().ok().flatten();
    abort.store(true, Ordering::Relaxed);
    let responder_ok = responder.join().unwrap_or(false);
    result.filter(|_| responder_ok)
}

fn spin_until(line: &Line, want: u64, abort: &AtomicBool, deadline: Instant) -> bool {
    let mut spins = 0u32;
    while line.0.load(Ordering::Acquire) != want {
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins % 1024 == 0 && (abort.load(Ordering::Relaxed) || Instant::now() > deadline) {
            return false;
        }
    }
    true
}

fn respond(cpu: usize, line: &Line, abort: &AtomicBool) -> bool {
    if pin_current_thread(&[cpu]).is_err() {
        abort.store(true, Ordering::Relaxed);
        return false;
    }
    let deadline = Instant::now() + DEADLINE;
    for i in 0..BATCHES * ROUNDS {
        if !spin_until(line, 2 * i + 1, abort, deadline) {
            return false;
        }
        line.0.store(2 * i + 2, Ordering::Release);
    }
    true
}

fn initiate(cpu: usize, line: &Line, abort: &AtomicBool) -> Option<f64> {
    pin_current_thread(&[cpu]).ok()?;
    let deadline = Instant::now() + DEADLINE;
    let mut per_batch = Vec::with_capacity(BATCHES as usize);
    for b in 0..BATCHES {
        let start = Instant::now();
        for r in 0..ROUNDS {
            let i = b * ROUNDS + r;
            line.0.store(2 * i + 1, Ordering::Release);
            if !spin_until(line, 2 * i + 2, abort, deadline) {
                return None;
            }
        }
        per_batch.push(start.elapsed().as_nanos() as f64 / ROUNDS as f64);
    }
    median(&per_batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_cpu_is_none() {
        assert_eq!(bounce_ns(0, 0), None);
    }

    #[test]
    fn probe_between_two_cpus_is_plausible() {
        let cpus = crate::affinity::allowed_cpus();
        if cpus.len() < 2 {
            eprintln!("skipped: needs two CPUs");
            return;
        }
        // A busy shared machine may starve one thread past the deadline: that is `None`, not a
        // failure; any value returned must be a plausible latency.
        if let Some(ns) = bounce_ns(cpus[0], cpus[1]) {
            assert!(ns > 1.0 && ns < 1_000_000.0, "{ns}");
        }
    }
}
