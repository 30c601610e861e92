//! The file worker child: pin, run one contender for warm-up + window, print a JSON report.
//!
//! Rules:
//! 1. CPU is the whole process's (`/proc/self/stat`, every thread including tokio's blocking pool
//!    and io_uring workers), sampled by a sleeping real-time-priority thread at the window's
//!    start and end.

use std::io;
use std::time::{Duration, Instant};

use super::measure::Window;
use super::spec::{FileSpec, WorkerReport};
use crate::affinity::pin_current_thread;
use crate::cpu::self_cpu;

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
        // `ringbolt-epoll`: the same contender, started with RINGBOLT_DRIVER=epoll.
        "ringbolt" | "ringbolt-epoll" => super::ringbolt::run(&spec, &window)?,
        "monoio" => super::monoio::run(&spec, &window)?,
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
