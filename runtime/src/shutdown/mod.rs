//! Graceful shutdown across cores: a [`Shutdown`] handle any thread can trigger, a drain period
//! in [`Builder::launch_with_shutdown`](crate::Builder::launch_with_shutdown), and a
//! [`TaskTracker`] to wait for tasks on every core.
//!
//! # How a launched service stops
//!
//! 1. Something calls [`Shutdown::trigger`]: a task on any core, another thread, a signal
//!    listener ([`Shutdown::trigger_on`]), or the launcher itself when a core fails (its
//!    future returns an error or panics) or when every core's future has returned.
//! 2. Each core's `block_on` is woken once, through its ring (the same remote-wake path as any
//!    cross-core [`Waker`]), and cancels the core's local
//!    [`CancellationToken`](crate::sync::CancellationToken), the one the launch closure was
//!    given. Tasks waiting in `token.cancelled()` wake up on their own core; no atomics on their
//!    path.
//! 3. Listeners stop accepting (the accept loop selects on the token), connections finish the
//!    requests they have, and tasks return. The core waits until its future and every task on it
//!    have finished, or until the drain deadline ([`Builder::drain_timeout`](crate::Builder::drain_timeout),
//!    counted from the trigger).
//! 4. At the deadline the tasks still running are aborted (their futures dropped, their I/O
//!    cancelled) and counted; `launch_with_shutdown` returns per core its output and how many
//!    tasks drained and how many were aborted, or the first core's failure.
//!
//! Rules:
//! 1. Triggering is permanent and idempotent; the first trigger's instant is the reference of
//!    every core's drain deadline, so all cores abort at the same moment.
//! 2. A [`Triggered`] future registers its waker under the handle's lock and re-checks the flag
//!    there, so a trigger racing with a registration is never missed.
//! 3. Wakers are called after the lock is released.

mod tracker;

pub use tracker::{TaskTracker, TaskTrackerToken, TaskTrackerWait, TrackedFuture};

use crate::signal::unix::{signal, SignalKind};
use slab::Slab;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// A `Send + Sync + Clone` handle that stops a launched set of cores.
///
/// Clones share one state. Trigger it from anywhere (a task on any core, a plain thread, a
/// signal listener); await [`triggered`](Self::triggered) from anywhere. It is one-shot: a
/// triggered handle stays triggered, and a launch given one starts shutting down at once. Pass it to
/// [`Builder::launch_with_shutdown`](crate::Builder::launch_with_shutdown) to get a drain period
/// and per-core counts; see the [module docs](self).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::shutdown::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let reports = ringbolt_runtime::Runtime::builder()
///     .cores(2)
///     .drain_timeout(Duration::from_secs(5))
///     .launch_with_shutdown(&shutdown, |core, token| {
///         let shutdown = shutdown.clone();
///         async move {
///             if core == 1 {
///                 shutdown.trigger(); // from any core, or any thread
///             }
///             token.cancelled().await;
///             Ok(core)
///         }
///     })?;
/// assert_eq!(reports[0].output, Some(0));
/// assert_eq!(reports[1].output, Some(1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    at: Option<Instant>,
    waiters: Slab<Waker>,
}

impl Shutdown {
    /// A handle not yet triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state holds no invariant a panic could break half-way.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the shutdown: wakes everything waiting in [`triggered`](Self::triggered) (on any
    /// core or thread). Later calls do nothing.
    pub fn trigger(&self) {
        let waiters = {
            let mut s = self.lock();
            if self.inner.triggered.load(Ordering::Relaxed) {
                return;
            }
            s.at = Some(Instant::now());
            self.inner.triggered.store(true, Ordering::Release);
            std::mem::take(&mut s.waiters)
        };
        // Rule 3: each waker goes through its core's remote queue and rings it once.
        for (_, w) in waiters {
            w.wake();
        }
    }

    /// Whether [`trigger`](Self::trigger) was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Acquire)
    }

    /// When the first trigger happened.
    pub fn triggered_at(&self) -> Option<Instant> {
        self.lock().at
    }

    /// Completes once the handle is triggered. `Send`: await it on any core or executor.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future unregisters it.
    pub fn triggered(&self) -> Triggered<'_> {
        Triggered {
            shutdown: self,
            key: None,
            waker: None,
        }
    }

    /// Spawns a task on the current core that triggers this handle when one of `kinds`
    /// arrives (see [`signal`](crate::signal)), and ends without triggering once the handle is
    /// triggered otherwise, so it never holds up a drain.
    ///
    /// # Errors
    ///
    /// Outside a runtime, or when a signal cannot be listened to (see
    /// [`signal::unix::signal`](crate::signal::unix::signal)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ringbolt_runtime::shutdown::Shutdown;
    /// use ringbolt_runtime::signal::unix::SignalKind;
    ///
    /// let shutdown = Shutdown::new();
    /// ringbolt_runtime::Runtime::builder().launch_with_shutdown(&shutdown, |core, token| {
    ///     let shutdown = shutdown.clone();
    ///     async move {
    ///         if core == 0 {
    ///             shutdown.trigger_on(&[SignalKind::terminate(), SignalKind::interrupt()])?;
    ///         }
    ///         token.cancelled().await; // serve until SIGTERM or Ctrl-C
    ///         Ok(())
    ///     }
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trigger_on(&self, kinds: &[SignalKind]) -> io::Result<()> {
        crate::signal::current_core()?;
        let listeners = kinds
            .iter()
            .map(|&k| signal(k))
            .collect::<io::Result<Vec<_>>>()?;
        let this = self.clone();
        crate::spawn(async move {
            let mut listeners = listeners;
            let any_signal = std::future::poll_fn(|cx| {
                for l in &mut listeners {
                    if let Poll::Ready(r) = l.poll_recv(cx) {
                        return Poll::Ready(r);
                    }
                }
                Poll::Pending
            });
            match crate::task::select(any_signal, this.triggered()).await {
                crate::task::Either::Left(_) => this.trigger(),
                crate::task::Either::Right(()) => {}
            }
        });
        Ok(())
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

/// Future returned by [`Shutdown::triggered`].
#[must_use = "futures do nothing unless polled"]
pub struct Triggered<'a> {
    shutdown: &'a Shutdown,
    key: Option<usize>,
    /// A copy of the registered waker: a poll with the same waker skips the lock.
    waker: Option<Waker>,
}

impl Future for Triggered<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shutdown.is_triggered() {
            return Poll::Ready(());
        }
        if this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            // Registered with this very waker: a trigger from now on wakes it.
            return Poll::Pending;
        }
        let mut s = this.shutdown.lock();
        // Rule 2: checked again under the lock the trigger takes.
        if this.shutdown.inner.triggered.load(Ordering::Acquire) {
            this.key = None;
            return Poll::Ready(());
        }
        match this.key.and_then(|k| s.waiters.get_mut(k)) {
            Some(w) => w.clone_from(cx.waker()),
            None => this.key = Some(s.waiters.insert(cx.waker().clone())),
        }
        this.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Triggered<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key {
            let mut s = self.shutdown.lock();
            // After a trigger the slab was emptied (and may hold new keys): only remove ours
            // while the handle is not triggered.
            if !self.shutdown.inner.triggered.load(Ordering::Acquire) {
                s.waiters.try_remove(k);
            }
        }
    }
}

impl fmt::Debug for Triggered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Triggered")
            .field("triggered", &self.shutdown.is_triggered())
            .finish()
    }
}

/// What one core of [`Builder::launch_with_shutdown`](crate::Builder::launch_with_shutdown)
/// did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CoreReport<T> {
    /// The core's id.
    pub core: usize,
    /// The output of the core's future; `None` if it was still running at the drain deadline
    /// and was aborted.
    pub output: Option<T>,
    /// Tasks that were running when the shutdown began (or were spawned during the drain) and
    /// finished before the deadline.
    pub tasks_drained: usize,
    /// Tasks still running at the drain deadline, aborted then.
    pub tasks_aborted: usize,
}
