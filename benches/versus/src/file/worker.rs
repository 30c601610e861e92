//! The file worker child: pin, run one contender for warm-up + window, print a JSON report.
//!
//! Rules:
//! 1. An operation counts when it completes inside the window; contenders stop issuing new
//!    operations at the window's end and drain what is in flight.
//! 2. CPU is the whole process's (`/proc/self/stat`, every thread including tokio's blocking pool
//!    and io_uring workers), sampled by a sleeping real-time-priority thread at the window's
//!    start and end.

use std::io;
use std::time::{Duration, Instant};

use super::{FileSpec, Op, WorkerReport};
use crate::affinity::pin_current_thread;
use crate::cpu::self_cpu;
use crate::stats::Histogram;

/// The measured window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Start (end of warm-up).
    pub start: Instant,
    /// End: no new operation is issued after it.
    pub end: Instant,
}

impl Window {
    /// Whether new operations may still be issued.
    pub fn open(&self, now: Instant) -> bool {
        now < self.end
    }
}

/// Per-thread (or per-task) operation counters.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    /// Latencies in ns.
    pub hist: Histogram,
    /// Operations completed in the window.
    pub ops: u64,
    /// Bytes of those operations.
    pub bytes: u64,
    /// Verified operations among them.
    pub verified: u64,
}

impl Recorder {
    /// Records an operation issued at `start` and completed at `end`.
    #[inline]
    pub fn record(
        &mut self,
        w: &Window,
        start: Instant,
        end: Instant,
        bytes: usize,
        verified: bool,
    ) {
        if end >= w.start && end < w.end {
            self.ops += 1;
            self.bytes += bytes as u64;
            self.verified += u64::from(verified);
            self.hist
                .record(end.saturating_duration_since(start).as_nanos() as u64);
        }
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Recorder) {
        self.hist.merge(&other.hist);
        self.ops += other.ops;
        self.bytes += other.bytes;
        self.verified += other.verified;
    }
}

/// Offsets for one stream of operations: random block-aligned, or sequential wrapping.
#[derive(Clone, Debug)]
pub struct Offsets {
    op: Op,
    blocks: u64,
    bs: u64,
    state: u64,
}

impl Offsets {
    /// A stream for `spec`; `stream` seeds the random ones and staggers the sequential ones.
    pub fn new(spec: &FileSpec, stream: u64) -> Offsets {
        let bs = spec.workload.bs as u64;
        let blocks = (spec.size / bs).max(1);
        let state = match spec.workload.op {
            Op::SeqRead => stream * (blocks / (spec.workload.qd as u64).max(1)),
            _ => 0x9E37_79B9_7F4A_7C15 ^ (stream + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
        };
        Offsets {
            op: spec.workload.op,
            blocks,
            bs,
            state,
        }
    }

    /// The next offset.
    #[inline]
    pub fn next_offset(&mut self) -> u64 {
        let block = match self.op {
            Op::SeqRead => {
                let b = self.state % self.blocks;
                self.state = b + 1;
                b
            }
            _ => {
                // xorshift64*
                self.state ^= self.state >> 12;
                self.state ^= self.state << 25;
                self.state ^= self.state >> 27;
                self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % self.blocks
            }
        };
        block * self.bs
    }
}

/// Child main for `--file-worker`: returns the exit code.
pub fn main(contender: &str, spec_json: &str) -> i32 {
    match run(contender, spec_json) {
        Ok(report) => match serde_json::to_string(&report) {
            Ok(line) => {
                println!("{line}");
                0
            }
            Err(e) => {
                eprintln!("{e}");
                1
            }
        },
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn run(contender: &str, spec_json: &str) -> io::Result<WorkerReport> {
    let spec: FileSpec = serde_json::from_str(spec_json)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    pin_current_thread(&spec.cores)?;
    let start = Instant::now() + Duration::from_millis(spec.warmup_ms);
    let window = Window {
        start,
        end: start + Duration::from_millis(spec.duration_ms),
    };
    let sampler = std::thread::spawn(move || sample_cpu(window));
    let rec = match contender {
        "raw-uring" => super::raw_uring::run(&spec, &window)?,
        "tokio-fs" => super::tokio_fs::run_fs(&spec, &window)?,
        "tokio-blocking" => super::tokio_fs::run_blocking(&spec, &window)?,
        "std-pread" => super::pread::run(&spec, &window)?,
        "ringbolt" => super::ringbolt::run(&spec, &window)?,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown file contender {other:?}"),
            ))
        }
    };
    let (cpu_us, threads) = sampler
        .join()
        .map_err(|_| io::Error::other("sampler panicked"))??;
    if rec.ops == 0 {
        return Err(io::Error::other("no operation completed in the window"));
    }
    Ok(WorkerReport {
        ops: rec.ops,
        bytes: rec.bytes,
        window_s: (window.end - window.start).as_secs_f64(),
        p50_ns: rec.hist.quantile(0.5).unwrap_or(0),
        p99_ns: rec.hist.quantile(0.99).unwrap_or(0),
        cpu_us,
        verified_ops: rec.verified,
        threads,
    })
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Samples process CPU at the window's edges. The sampler asks for `SCHED_FIFO` so QD busy
/// threads on the same core cannot delay it (silently stays normal when not allowed), and scales
/// what it measured to the window's length in case it still woke late.
fn sample_cpu(w: Window) -> io::Result<(f64, usize)> {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: `param` is a valid sched_param; 0 names the calling thread.
    let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    sleep_until(w.start);
    let (a, ta) = (self_cpu()?, Instant::now());
    sleep_until(w.end);
    let (b, tb) = (self_cpu()?, Instant::now());
    let d = b.since(a);
    let measured = (tb - ta).as_secs_f64();
    let window = (w.end - w.start).as_secs_f64();
    let scale = if measured > 0.0 {
        window / measured
    } else {
        1.0
    };
    let threads: usize = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find_map(|l| {
            l.strip_prefix("Threads:")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0);
    // The sampler thread itself is not the contender's.
    Ok(((d.user_us + d.sys_us) * scale, threads.saturating_sub(1)))
}

/// Checks a completed operation: reads must match the pattern, every op must be full length.
///
/// # Errors
/// A short transfer or a pattern mismatch.
pub fn check(op: Op, buf: &[u8], off: u64, n: usize) -> io::Result<bool> {
    if n != buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("short transfer: {n} of {} bytes at {off}", buf.len()),
        ));
    }
    if op == Op::RandWrite {
        return Ok(true);
    }
    if super::dataset::verify(buf, off) {
        Ok(true)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("data at offset {off} does not match the pattern"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::Workload;

    fn spec(op: Op, qd: usize) -> FileSpec {
        FileSpec {
            path: "/nonexistent".into(),
            size: 1 << 20,
            workload: Workload {
                name: "t".into(),
                op,
                bs: 4096,
                qd,
                direct: false,
                fsync_every: None,
            },
            warmup_ms: 0,
            duration_ms: 1,
            cores: vec![0],
        }
    }

    #[test]
    fn random_offsets_are_aligned_and_in_range() {
        let mut o = Offsets::new(&spec(Op::RandRead, 1), 3);
        let offs: Vec<u64> = (0..1000).map(|_| o.next_offset()).collect();
        assert!(offs.iter().all(|&x| x % 4096 == 0 && x < 1 << 20));
        let distinct: std::collections::HashSet<_> = offs.iter().collect();
        assert!(distinct.len() > 200, "{}", distinct.len());
    }

    #[test]
    fn sequential_offsets_wrap() {
        let mut o = Offsets::new(&spec(Op::SeqRead, 1), 0);
        let offs: Vec<u64> = (0..257).map(|_| o.next_offset()).collect();
        assert_eq!(offs[0], 0);
        assert_eq!(offs[1], 4096);
        assert_eq!(offs[255], 255 * 4096);
        assert_eq!(offs[256], 0);
    }

    #[test]
    fn recorder_counts_only_inside_window() {
        let t0 = Instant::now();
        let w = Window {
            start: t0 + Duration::from_millis(10),
            end: t0 + Duration::from_millis(20),
        };
        let mut r = Recorder::default();
        r.record(&w, t0, t0 + Duration::from_millis(5), 4096, true);
        r.record(&w, t0, t0 + Duration::from_millis(15), 4096, true);
        r.record(&w, t0, t0 + Duration::from_millis(25), 4096, true);
        assert_eq!((r.ops, r.bytes, r.verified), (1, 4096, 1));
    }
}
