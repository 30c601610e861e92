//! `TaskTracker`: count tasks on every core and wait until all of them are done.
//!
//! Rules:
//! 1. `state` packs the number of tracked tasks (times two) and a `closed` bit, so "closed and
//!    empty" is one atomic value (`1`), reached exactly once per close-and-drain.
//! 2. Whoever moves the state to `1` (the last token dropped while closed, or `close` while
//!    empty) wakes every waiter, after releasing the lock.
//! 3. A waiter registers under the lock and re-checks the state there, so it cannot miss rule 2.
//! 4. Waking everyone starts a new generation of waiter keys: a waiter from an earlier
//!    generation (the tracker was reopened before it looked) registers afresh instead of
//!    touching a key that may now be someone else's.

use crate::executor::join::JoinHandle;
use crate::executor::spawn_on::RemoteJoinHandle;
use slab::Slab;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

const CLOSED: usize = 1;
const ONE_TASK: usize = 2;

/// Counts tasks on any core and waits until every one has finished: tokio-util's `TaskTracker`,
/// across cores. `Send + Sync + Clone`.
///
/// [`wait`](Self::wait) completes once the tracker is [closed](Self::close) and no tracked task
/// is left, so a shutdown path closes the tracker and waits for it.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::shutdown::TaskTracker;
///
/// let tracker = TaskTracker::new();
/// ringbolt_runtime::Runtime::builder().cores(2).launch(|core| {
///     let tracker = tracker.clone();
///     async move {
///         if core == 0 {
///             for c in 0..2 {
///                 tracker.spawn_on(c, || async { ringbolt_runtime::task::yield_now().await });
///             }
///             tracker.close();
///             tracker.wait().await; // both tasks, on both cores, are done
///             assert!(tracker.is_empty());
///         }
///     }
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TaskTracker {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    generation: u64,
    slab: Slab<Waker>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // The slab holds no invariant a panic could break half-way.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rules 2 and 4.
    fn wake_all(&self) {
        let waiters = {
            let mut w = self.lock();
            w.generation += 1;
            std::mem::take(&mut w.slab)
        };
        for (_, w) in waiters {
            w.wake();
        }
    }

    fn add(&self) {
        self.state.fetch_add(ONE_TASK, Ordering::Relaxed);
    }

    fn remove(&self) {
        if self.state.fetch_sub(ONE_TASK, Ordering::AcqRel) == ONE_TASK | CLOSED {
            self.wake_all();
        }
    }
}

impl TaskTracker {
    /// An open tracker with no task.
    pub fn new() -> TaskTracker {
        TaskTracker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(0),
                waiters: Mutex::new(Waiters::default()),
            }),
        }
    }

    /// Closes the tracker: [`wait`](Self::wait) completes once no tracked task is left. Tasks
    /// can still be tracked after closing (they delay `wait` if it has not completed yet).
    /// Returns whether this call closed it.
    pub fn close(&self) -> bool {
        let before = self.inner.state.fetch_or(CLOSED, Ordering::AcqRel);
        if before == 0 {
            self.inner.wake_all();
        }
        before & CLOSED == 0
    }

    /// Opens the tracker again. Returns whether it was closed.
    pub fn reopen(&self) -> bool {
        self.inner.state.fetch_and(!CLOSED, Ordering::AcqRel) & CLOSED != 0
    }

    /// Whether the tracker is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// The number of tracked tasks (on all cores) not finished yet.
    pub fn len(&self) -> usize {
        self.inner.state.load(Ordering::Acquire) / ONE_TASK
    }

    /// Whether no tracked task is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A token counted as one task until it is dropped. `Send`: move it into work the tracker
    /// cannot spawn itself (a blocking-pool job, a thread).
    pub fn token(&self) -> TaskTrackerToken {
        self.inner.add();
        TaskTrackerToken {
            inner: self.inner.clone(),
        }
    }

    /// Wraps `future` so that it counts as a task until it completes or is dropped.
    pub fn track_future<F: Future>(&self, future: F) -> TrackedFuture<F> {
        TrackedFuture {
            future,
            _token: self.token(),
        }
    }

    /// Spawns `future` on the current core as a tracked task.
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::spawn(self.track_future(future))
    }

    /// Runs the future `f` builds on core `core` (see [`spawn_on`](crate::spawn_on)) as a
    /// tracked task. It counts from this call until it finishes, or until its core refuses it.
    ///
    /// # Panics
    ///
    /// As [`spawn_on`](crate::spawn_on): outside a runtime, or with a core not in this group.
    #[track_caller]
    pub fn spawn_on<F, Fut>(&self, core: usize, f: F) -> RemoteJoinHandle<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let token = self.token();
        crate::spawn_on(core, move || {
            let future = f();
            async move {
                let _token = token;
                future.await
            }
        })
    }

    /// Completes once the tracker is closed and every tracked task has finished. `Send`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn wait(&self) -> TaskTrackerWait<'_> {
        TaskTrackerWait {
            inner: &self.inner,
            key: None,
        }
    }
}

impl Default for TaskTracker {
    fn default() -> Self {
        TaskTracker::new()
    }
}

impl fmt::Debug for TaskTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTracker")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Counts as one task of a [`TaskTracker`] until dropped; see [`TaskTracker::token`].
pub struct TaskTrackerToken {
    inner: Arc<Inner>,
}

impl Drop for TaskTrackerToken {
    fn drop(&mut self) {
        self.inner.remove();
    }
}

impl fmt::Debug for TaskTrackerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTrackerToken").finish_non_exhaustive()
    }
}

/// A future counted by a [`TaskTracker`]; see [`TaskTracker::track_future`].
#[must_use = "futures do nothing unless polled"]
pub struct TrackedFuture<F> {
    future: F,
    _token: TaskTrackerToken,
}

impl<F: Future> Future for TrackedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `TrackedFuture` has no `Drop` impl and no `Unpin` impl that would let it move.
        unsafe { self.map_unchecked_mut(|s| &mut s.future) }.poll(cx)
    }
}

impl<F> fmt::Debug for TrackedFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedFuture").finish_non_exhaustive()
    }
}

/// Future returned by [`TaskTracker::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct TaskTrackerWait<'a> {
    inner: &'a Inner,
    /// The waiter's key and the generation it belongs to (rule 4).
    key: Option<(usize, u64)>,
}

impl Future for TaskTrackerWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.inner.state.load(Ordering::Acquire) == CLOSED {
            return Poll::Ready(());
        }
        let mut waiters = this.inner.lock();
        let generation = waiters.generation;
        let mine = this.key.filter(|&(_, g)| g == generation).map(|(k, _)| k);
        // Rule 3.
        if this.inner.state.load(Ordering::Acquire) == CLOSED {
            if let Some(k) = mine {
                waiters.slab.try_remove(k);
            }
            this.key = None;
            return Poll::Ready(());
        }
        match mine.and_then(|k| waiters.slab.get_mut(k)) {
            Some(w) => w.clone_from(cx.waker()),
            None => this.key = Some((waiters.slab.insert(cx.waker().clone()), generation)),
        }
        Poll::Pending
    }
}

impl Drop for TaskTrackerWait<'_> {
    fn drop(&mut self) {
        if let Some((k, g)) = self.key {
            let mut waiters = self.inner.lock();
            if waiters.generation == g {
                waiters.slab.try_remove(k);
            }
        }
    }
}

impl fmt::Debug for TaskTrackerWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTrackerWait").finish_non_exhaustive()
    }
}
