//! `spawn_blocking`: run blocking work on a helper thread, off the cores.
//!
//! ringbolt's cores never block: file and socket I/O go through the ring. What remains —
//! a blocking library call, `getdents64` (io_uring has no directory listing), DNS resolution,
//! CPU-heavy work — goes to this small process-wide pool.
//!
//! Rules:
//! 1. Threads start on demand, up to [`MAX_BLOCKING_THREADS`], and exit after
//!    [`BLOCKING_IDLE`] without work (both adjustable with
//!    [`Builder::blocking_threads_max`](crate::Builder::blocking_threads_max) and
//!    [`Builder::blocking_idle`](crate::Builder::blocking_idle)). A new thread starts when
//!    queued jobs outnumber idle ones.
//! 2. The result comes back through a `Send` handle whose waker rings the waiting core's ring;
//!    a panic in the closure is caught and returned as a `JoinError`.
//! 3. If no helper thread can be started at all (thread limit, out of memory), the job runs
//!    inline on the caller's thread, blocking its core, rather than never running.

use super::join::JoinError;
use super::spawn_on::{Guard, RemoteJoinHandle, Slot};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Most helper threads alive at once by default; further work queues.
pub const MAX_BLOCKING_THREADS: usize = 64;
/// How long an idle helper thread waits for work before it exits, by default.
pub const BLOCKING_IDLE: Duration = Duration::from_secs(10);

/// The pool's current thread limit (process-wide; set by the builder).
static THREADS_MAX: AtomicUsize = AtomicUsize::new(MAX_BLOCKING_THREADS);
/// The pool's current idle timeout in nanoseconds (process-wide; set by the builder).
static IDLE_NANOS: AtomicU64 = AtomicU64::new(BLOCKING_IDLE.as_nanos() as u64);

/// Sets the process-wide pool limits (from `Builder`); `None` leaves a limit as it is.
pub(crate) fn configure(threads_max: Option<usize>, idle: Option<Duration>) {
    if let Some(n) = threads_max {
        THREADS_MAX.store(n.max(1), Ordering::Relaxed);
    }
    if let Some(d) = idle {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        IDLE_NANOS.store(nanos, Ordering::Relaxed);
    }
}

fn threads_max() -> usize {
    THREADS_MAX.load(Ordering::Relaxed)
}

fn idle_timeout() -> Duration {
    Duration::from_nanos(IDLE_NANOS.load(Ordering::Relaxed))
}

pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    cond: Condvar,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState::default()),
        cond: Condvar::new(),
    })
}

impl Pool {
    fn submit(&'static self, job: Job) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.queue.push_back(job);
        // Idle threads take queued jobs; start a thread only when the jobs waiting outnumber
        // them (an idle thread counts until it actually wakes, so counting notifications
        // instead would let a burst pile up behind one thread).
        let spawn = s.queue.len() > s.idle && s.threads < threads_max();
        if spawn {
            s.threads += 1;
        }
        let notify = s.idle > 0;
        drop(s);
        if notify {
            self.cond.notify_one();
        }
        if spawn {
            let spawned = std::thread::Builder::new()
                .name("ringbolt-blocking".into())
                .spawn(move || self.worker());
            if spawned.is_err() {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                s.threads -= 1;
                if s.threads == 0 {
                    // Nobody will ever pick the jobs up: run them here (rule 3).
                    let jobs: Vec<Job> = s.queue.drain(..).collect();
                    drop(s);
                    for job in jobs {
                        job();
                    }
                }
            }
        }
    }

    fn worker(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = s.queue.pop_front() {
                drop(s);
                job();
                s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.idle += 1;
            let (guard, timeout) = self
                .cond
                .wait_timeout(s, idle_timeout())
                .unwrap_or_else(|e| e.into_inner());
            s = guard;
            s.idle -= 1;
            if timeout.timed_out() && s.queue.is_empty() {
                s.threads -= 1;
                return;
            }
        }
    }
}

/// Runs `job` on a pool thread: the epoll driver's file ops (their completion goes back to the
/// driver, not through a join handle).
pub(crate) fn run(job: Job) {
    pool().submit(job);
}

/// Runs a blocking closure on a helper thread and returns a `Send` handle to its result.
///
/// Use it for work that would stall the core: blocking library calls, directory listing,
/// DNS lookups, heavy computation. Awaiting the handle does not block the core.
///
/// # Examples
///
/// ```
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let n = rt.block_on(async {
///     ringbolt_runtime::task::spawn_blocking(|| std::fs::read_dir("/").map(|d| d.count()))
///         .await
///         .unwrap()
/// })?;
/// assert!(n > 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_blocking<F, T>(f: F) -> RemoteJoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Slot::new();
    let guard = Guard(slot.clone());
    pool().submit(Box::new(move || {
        let r = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panic);
        guard.0.finish(r);
    }));
    RemoteJoinHandle { slot }
}
