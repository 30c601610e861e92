//! Per-core metrics, readable from any thread for every core, in the Prometheus text format.
//!
//! Turned on per runtime with [`Builder::metrics`](crate::Builder::metrics) (off by default:
//! a runtime without it only tests one flag per task poll and per loop turn). Each core then
//! publishes, from its own thread and with plain relaxed stores (one writer per core):
//! - the counters of [`Stats`], refreshed before the core sleeps in
//!   `io_uring_enter` and every 32nd busy loop turn (so exact while it idles, a fraction of a
//!   millisecond behind while it is busy);
//! - stalls counted by kind (see [`stall`](crate::stall));
//! - histograms of task poll duration, loop turn busy time (the tasks run between two looks
//!   at the ring; the wait in `io_uring_enter` is not counted), SQEs submitted per
//!   `io_uring_enter`, and CQEs reaped per loop turn. Polls are timed back to back with one
//!   cheap clock read each (the TSC on x86_64): after a turn that did not sleep, that turn's
//!   own work (submit, reap, wakes, timers; microseconds) counts toward the next poll.
//!
//! [`render`] reads every live core of every runtime of the process that has metrics on, so
//! any core, or any other thread, can serve `/metrics`. Labels: `runtime` (one number per
//! [`Builder::build`](crate::Builder::build) or [`Builder::launch`](crate::Builder::launch))
//! and `core`.
//!
//! Op latency by opcode is not measured: it would need a clock read at every submission and
//! every completion plus a timestamp and an opcode in every in-flight slot, which costs more
//! than the 5% budget of the op round trip; `ringbolt_ops_in_flight` and the turn histograms
//! show a slow ring instead.
//!
//! # Examples
//!
//! ```
//! let rt = ringbolt_runtime::Runtime::builder().metrics(true).build()?;
//! rt.block_on(async {
//!     ringbolt_runtime::spawn(async {}).await.unwrap();
//!     ringbolt_runtime::task::yield_now().await;
//! });
//! let text = ringbolt_runtime::metrics::render();
//! assert!(text.contains("# TYPE ringbolt_tasks_spawned_total counter"));
//! assert!(text.contains("ringbolt_poll_duration_seconds_bucket{"));
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::clock;
use crate::runtime::Stats;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A value written by one thread (its core) and read by any: a relaxed load and store, no
/// locked read-modify-write on the hot path.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    #[inline]
    fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone, Copy)]
enum Scale {
    /// Clock ticks (see `clock.rs`); bucket `k` holds values below `2^(k+shift)` ticks, with
    /// `2^shift` ticks the power of two nearest below 1 µs (so up to about 2 s). Recording
    /// in ticks keeps the conversion off the hot path; `render` writes seconds.
    Ticks { shift: u32 },
    /// Counts; bucket 0 holds 0, bucket `k >= 1` values up to `2^(k-1)` (up to 1024).
    Count,
}

const TICKS_BUCKETS: usize = 22;
const COUNT_BUCKETS: usize = 13;

/// Durations in ticks, first bucket bound the power of two of ticks nearest below 1 µs.
fn ticks_scale() -> Scale {
    let per_us = clock::from_nanos(1000).max(1);
    Scale::Ticks {
        shift: 63 - per_us.leading_zeros(),
    }
}

/// A histogram with power-of-two buckets; the last bucket is `+Inf`.
pub(crate) struct Histogram {
    scale: Scale,
    buckets: Box<[Counter]>,
    sum: Counter,
}

impl Histogram {
    fn new(scale: Scale) -> Histogram {
        let n = match scale {
            Scale::Ticks { .. } => TICKS_BUCKETS,
            Scale::Count => COUNT_BUCKETS,
        };
        Histogram {
            scale,
            buckets: (0..n).map(|_| Counter::default()).collect(),
            sum: Counter::default(),
        }
    }

    #[inline]
    pub(crate) fn record(&self, v: u64) {
        let i = match self.scale {
            Scale::Ticks { shift } => (64 - (v >> shift).leading_zeros()) as usize,
            Scale::Count if v == 0 => 0,
            Scale::Count => 1 + (64 - (v - 1).leading_zeros()) as usize,
        };
        let i = i.min(self.buckets.len() - 1);
        self.buckets[i].add(1);
        self.sum.add(v);
    }

    /// The upper bound of bucket `i`, as Prometheus writes it.
    fn le(&self, i: usize) -> String {
        if i + 1 == self.buckets.len() {
            return "+Inf".into();
        }
        match self.scale {
            Scale::Ticks { shift } => {
                format!(
                    "{}",
                    clock::to_nanos(1u64 << (i as u32 + shift)) as f64 / 1e9
                )
            }
            Scale::Count if i == 0 => "0".into(),
            Scale::Count => format!("{}", 1u64 << (i - 1)),
        }
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.get();
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels},le=\"{}\"}} {cumulative}",
                self.le(i)
            );
        }
        let sum = self.sum.get();
        match self.scale {
            Scale::Ticks { .. } => {
                let secs = clock::to_nanos(sum) as f64 / 1e9;
                let _ = writeln!(out, "{name}_sum{{{labels}}} {secs}");
            }
            Scale::Count => {
                let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            }
        }
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// The [`Stats`] fields as Prometheus families: name, help, type.
const STATS: [(&str, &str, &str); 12] = [
    ("ringbolt_tasks_spawned_total", "Tasks spawned.", "counter"),
    ("ringbolt_task_polls_total", "Task polls.", "counter"),
    (
        "ringbolt_tasks_alive",
        "Tasks spawned and not finished.",
        "gauge",
    ),
    (
        "ringbolt_ops_submitted_total",
        "Ops pushed to the submission queue.",
        "counter",
    ),
    (
        "ringbolt_ops_completed_total",
        "Ops whose final CQE was reaped.",
        "counter",
    ),
    (
        "ringbolt_ops_cancelled_total",
        "Cancellation requests for dropped in-flight ops.",
        "counter",
    ),
    (
        "ringbolt_ops_in_flight",
        "Ops submitted whose final CQE has not arrived.",
        "gauge",
    ),
    (
        "ringbolt_ring_enters_total",
        "io_uring_enter calls.",
        "counter",
    ),
    (
        "ringbolt_cq_overflows_total",
        "Turns that found the completion queue overflowed.",
        "counter",
    ),
    (
        "ringbolt_stale_cqes_total",
        "CQEs that matched no live op.",
        "counter",
    ),
    (
        "ringbolt_timers_pending",
        "Timers waiting in the wheel.",
        "gauge",
    ),
    (
        "ringbolt_cqes_reaped_total",
        "CQEs reaped from the completion queue.",
        "counter",
    ),
];

fn stat_values(s: &Stats) -> [u64; 12] {
    [
        s.tasks_spawned,
        s.tasks_polled,
        s.tasks_alive as u64,
        s.ops_submitted,
        s.ops_completed,
        s.ops_cancelled,
        s.ops_in_flight as u64,
        s.enters,
        s.cq_overflows,
        s.stale_cqes,
        s.timers_pending as u64,
        s.cqes_reaped,
    ]
}

/// One core's metrics; written by that core only.
pub(crate) struct CoreMetrics {
    group: u64,
    mesh: usize,
    core: usize,
    stats: [Counter; 12],
    pub(crate) poll: Histogram,
    pub(crate) turn: Histogram,
    pub(crate) sqes_per_enter: Histogram,
    cqes_per_turn: Histogram,
    pub(crate) stalled_polls: Counter,
    pub(crate) stalled_turns: Counter,
    /// `cqes_reaped` at the end of the last turn.
    last_cqes: Counter,
    /// Loop turns (owner core only), for publishing every 32nd.
    turns: Counter,
}

impl CoreMetrics {
    /// Metrics for core `core` of the runtime group whose mesh lives at `mesh` (cores of one
    /// `launch` share the `runtime` label), registered for [`render`].
    pub(crate) fn register(core: usize, mesh: usize) -> Arc<CoreMetrics> {
        static NEXT_GROUP: AtomicU64 = AtomicU64::new(1);
        let mut reg = registry();
        reg.retain(|w| w.strong_count() > 0);
        let group = reg
            .iter()
            .filter_map(Weak::upgrade)
            .find(|m| m.mesh == mesh)
            .map(|m| m.group)
            .unwrap_or_else(|| NEXT_GROUP.fetch_add(1, Ordering::Relaxed));
        let m = Arc::new(CoreMetrics {
            group,
            mesh,
            core,
            stats: Default::default(),
            poll: Histogram::new(ticks_scale()),
            turn: Histogram::new(ticks_scale()),
            sqes_per_enter: Histogram::new(Scale::Count),
            cqes_per_turn: Histogram::new(Scale::Count),
            stalled_polls: Counter::default(),
            stalled_turns: Counter::default(),
            last_cqes: Counter::default(),
            turns: Counter::default(),
        });
        reg.push(Arc::downgrade(&m));
        m
    }

    /// Publishes the core's counters.
    pub(crate) fn publish(&self, s: &Stats) {
        for (c, v) in self.stats.iter().zip(stat_values(s)) {
            c.set(v);
        }
    }

    /// Counts a busy turn; true every 32nd, when the counters are due for publishing.
    #[inline]
    pub(crate) fn publish_due(&self) -> bool {
        self.turns.add(1);
        self.turns.get() % 32 == 0
    }

    /// Records the CQEs reaped by this turn, given the driver's running total.
    #[inline]
    pub(crate) fn turn_reaped(&self, cqes_reaped: u64) {
        let before = self.last_cqes.get();
        self.cqes_per_turn.record(cqes_reaped.wrapping_sub(before));
        self.last_cqes.set(cqes_reaped);
    }

    fn labels(&self) -> String {
        format!("runtime=\"{}\",core=\"{}\"", self.group, self.core)
    }
}

fn registry() -> std::sync::MutexGuard<'static, Vec<Weak<CoreMetrics>>> {
    static REGISTRY: Mutex<Vec<Weak<CoreMetrics>>> = Mutex::new(Vec::new());
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Picks one histogram of a core.
type HistogramOf = fn(&CoreMetrics) -> &Histogram;

/// Every live core's metrics (of every runtime in this process built with
/// [`Builder::metrics`](crate::Builder::metrics)) in the Prometheus text exposition format
/// (version 0.0.4, `Content-Type: text/plain; version=0.0.4`). Callable from any thread.
///
/// Counters lag by at most 32 busy loop turns of their core, and are exact while it idles. A runtime that has been dropped no
/// longer appears. Empty when no runtime has metrics on.
pub fn render() -> String {
    let mut cores: Vec<Arc<CoreMetrics>> = registry().iter().filter_map(Weak::upgrade).collect();
    cores.sort_by_key(|m| (m.group, m.core));
    let mut out = String::new();
    if cores.is_empty() {
        return out;
    }
    let labels: Vec<String> = cores.iter().map(|m| m.labels()).collect();
    for (i, (name, help, kind)) in STATS.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (m, l) in cores.iter().zip(&labels) {
            let _ = writeln!(out, "{name}{{{l}}} {}", m.stats[i].get());
        }
    }
    let name = "ringbolt_stalls_total";
    let _ = writeln!(
        out,
        "# HELP {name} Task polls and loop turns longer than the stall threshold.\n# TYPE {name} counter"
    );
    for (m, l) in cores.iter().zip(&labels) {
        let _ = writeln!(out, "{name}{{{l},kind=\"poll\"}} {}", m.stalled_polls.get());
        let _ = writeln!(out, "{name}{{{l},kind=\"turn\"}} {}", m.stalled_turns.get());
    }
    let hists: [(&str, &str, HistogramOf); 4] = [
        (
            "ringbolt_poll_duration_seconds",
            "Duration of one task poll.",
            |m| &m.poll,
        ),
        (
            "ringbolt_loop_turn_busy_seconds",
            "Time one loop turn spent running tasks (the wait in io_uring_enter excluded).",
            |m| &m.turn,
        ),
        (
            "ringbolt_sqes_per_enter",
            "SQEs submitted by one io_uring_enter.",
            |m| &m.sqes_per_enter,
        ),
        (
            "ringbolt_cqes_per_turn",
            "CQEs reaped in one loop turn.",
            |m| &m.cqes_per_turn,
        ),
    ];
    for (name, help, get) in hists {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (m, l) in cores.iter().zip(&labels) {
            get(m).render(&mut out, name, l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_values() {
        clock::calibrate();
        let h = Histogram::new(Scale::Ticks { shift: 10 });
        h.record(0);
        h.record(1023);
        h.record(1024);
        h.record(u64::MAX >> 1);
        assert_eq!(h.buckets[0].get(), 2);
        assert_eq!(h.buckets[1].get(), 1);
        assert_eq!(h.buckets[TICKS_BUCKETS - 1].get(), 1);
        assert_eq!(h.le(TICKS_BUCKETS - 1), "+Inf");
        // The first bound is at most 1 µs and more than 0.25 µs.
        let Scale::Ticks { shift } = ticks_scale() else {
            unreachable!()
        };
        let first = clock::to_nanos(1 << shift);
        assert!(
            (250..=1000).contains(&first),
            "first bucket bound {first} ns"
        );
        let c = Histogram::new(Scale::Count);
        for v in [0, 1, 2, 3, 4, 5, 1024, 1025] {
            c.record(v);
        }
        let counts: Vec<u64> = c.buckets.iter().map(|b| b.get()).collect();
        assert_eq!(counts, [1, 1, 1, 2, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(c.le(3), "4");
        assert_eq!(c.le(11), "1024");
    }
}
