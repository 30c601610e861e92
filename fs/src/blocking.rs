//! Running a blocking closure off the core: the one place `ringbolt-fs` leaves the ring.
//!
//! io_uring has no `getdents`, so [`read_dir`](crate::read_dir) lists directories here.
//! [`unblock`] is general: any blocking call (a `getaddrinfo`, a legacy library) can use it.
//!
//! Rules:
//! 1. Jobs run on a small pool of helper threads (at most [`MAX_THREADS`]), started on demand
//!    and stopped after [`IDLE_TIMEOUT`] without work. A new thread starts only when the jobs
//!    waiting outnumber the idle threads.
//! 2. The result travels back through a mutex-protected slot; the helper wakes the awaiting
//!    task with its `Waker` (which is `Send` and rings the task's core).
//! 3. Dropping the future does not stop the job: it runs to completion and its result is
//!    dropped on the helper thread.
//! 4. A panic in the job is caught on the helper and resumed in the task that awaits it.
//! 5. If no helper thread can be started at all, the job runs inline on the caller's thread,
//!    blocking its core, rather than never running.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// Most helper threads alive at once.
pub const MAX_THREADS: usize = 4;
/// How long an idle helper thread waits for work before it exits.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    idle: usize,
    threads: usize,
}

/// Locks, ignoring poisoning: jobs run outside the lock and catch their own panics, so the
/// protected state is always consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState::default()),
        work: Condvar::new(),
    })
}

impl Pool {
    fn submit(&'static self, job: Job) {
        let mut st = lock(&self.state);
        st.jobs.push_back(job);
        if st.idle > 0 {
            self.work.notify_one();
        }
        if st.jobs.len() <= st.idle || st.threads >= MAX_THREADS {
            return;
        }
        st.threads += 1;
        drop(st);
        let spawned = thread::Builder::new()
            .name("ringbolt-blocking".into())
            .spawn(move || self.worker());
        if spawned.is_err() {
            let mut st = lock(&self.state);
            st.threads -= 1;
            if st.threads == 0 {
                // Rule 5: nobody else will run the queued jobs.
                let jobs: Vec<Job> = st.jobs.drain(..).collect();
                drop(st);
                jobs.into_iter().for_each(|job| job());
            }
        }
    }

    fn worker(&self) {
        let mut st = lock(&self.state);
        loop {
            if let Some(job) = st.jobs.pop_front() {
                drop(st);
                job();
                st = lock(&self.state);
                continue;
            }
            st.idle += 1;
            let (guard, timeout) = self
                .work
                .wait_timeout(st, IDLE_TIMEOUT)
                .unwrap_or_else(PoisonError::into_inner);
            st = guard;
            st.idle -= 1;
            if timeout.timed_out() && st.jobs.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

struct Slot<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// The future of a closure running on a helper thread; see [`unblock`].
#[must_use = "the result of the blocking closure is only seen by awaiting it"]
pub struct Unblock<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> std::fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unblock").finish_non_exhaustive()
    }
}

/// Runs a blocking closure on a helper thread and resolves to its result, without blocking
/// the core.
///
/// Meant for calls that io_uring cannot make (directory listing) or libraries that only
/// block. Not for file data: that goes through the ring.
///
/// # Panics
///
/// Awaiting resumes a panic raised by `f`.
///
/// # Examples
///
/// ```
/// use ringbolt_fs::blocking::unblock;
/// # ringbolt_runtime::Runtime::new()?.block_on(async {
/// let n = unblock(|| std::fs::read_dir("/").map(|d| d.count())).await?;
/// assert!(n > 0);
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn unblock<F, T>(f: F) -> Unblock<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let theirs = slot.clone();
    pool().submit(Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        let waker = {
            let mut s = lock(&theirs);
            s.result = Some(result);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }));
    Unblock { slot }
}

impl<T> Future for Unblock<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = lock(&self.slot);
        match s.result.take() {
            Some(Ok(v)) => Poll::Ready(v),
            Some(Err(payload)) => {
                drop(s);
                panic::resume_unwind(payload)
            }
            None => {
                match &s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}
