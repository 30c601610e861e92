//! `spawn_on`: run a future built on another core, and await its output from here.
//!
//! Rules:
//! 1. Only `Send` things cross cores: the closure that builds the future, and the output.
//!    The future itself is built and run on the target core, so it may be `!Send`.
//! 2. The request travels as a job through the target's remote queue, which costs at most one
//!    wake of the target per batch (MSG_RING or eventfd).
//! 3. If the target core has shut down, or shuts down before the task finishes, the handle
//!    resolves to a cancelled `JoinError`; nothing hangs.

use super::join::JoinError;
use crate::context;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

pub(crate) struct Slot<T> {
    state: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    result: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
    done: bool,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Arc<Slot<T>> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                result: None,
                waker: None,
                done: false,
            }),
        })
    }

    pub(crate) fn finish(&self, r: Result<T, JoinError>) {
        let waker = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.done {
                return;
            }
            s.done = true;
            s.result = Some(r);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Completes the slot as cancelled if dropped before the task reported (rule 3).
pub(crate) struct Guard<T>(pub(crate) Arc<Slot<T>>);

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        self.0.finish(Err(JoinError::cancelled()));
    }
}

/// A `Send` handle to a task started with [`spawn_on`] or [`spawn_blocking`](crate::task::spawn_blocking). Awaiting it yields the task's output,
/// or a `JoinError` if it panicked or its core shut down first. Dropping it detaches the task.
pub struct RemoteJoinHandle<T> {
    pub(crate) slot: Arc<Slot<T>>,
}

impl<T> std::fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJoinHandle").finish_non_exhaustive()
    }
}

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Result<T, JoinError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = s.result.take() {
            return Poll::Ready(r);
        }
        if s.done {
            return Poll::Ready(Err(JoinError::cancelled()));
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// Runs the future that `f` builds on core `core` and returns a `Send` handle to its output.
///
/// `core` is an index into the cores started by the same [`Builder::launch`](crate::Builder::launch)
/// (`0` alone for a [`Runtime::new`](crate::Runtime::new) runtime). The closure is called on the
/// target core, so the future it returns may hold `!Send` state.
///
/// # Panics
///
/// Panics if called outside a runtime, or if `core` is not a core of this runtime group.
///
/// # Examples
///
/// ```
/// let out = ringbolt_runtime::Runtime::builder().cores(2).launch(|core| async move {
///     if core == 0 {
///         let h = ringbolt_runtime::spawn_on(1, || async { ringbolt_runtime::core_id() });
///         h.await.unwrap()
///     } else {
///         usize::MAX
///     }
/// })?;
/// assert_eq!(out[0], 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_on<F, Fut>(core: usize, f: F) -> RemoteJoinHandle<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let (target, cores) = context::with_core(|c| (c.mesh.get(core).cloned(), c.mesh.len()))
        .expect("ringbolt::spawn_on called outside a ringbolt runtime");
    let Some(target) = target else {
        panic!("ringbolt::spawn_on: no core {core} (this runtime group has {cores} cores)");
    };
    let slot = Slot::new();
    let guard = Guard(slot.clone());
    let location = std::panic::Location::caller();
    let job = Box::new(move || {
        let fut = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(fut) => fut,
            Err(payload) => {
                guard.0.finish(Err(JoinError::panic(payload)));
                return;
            }
        };
        let handle = super::spawn_at(fut, location);
        super::spawn_at(
            async move {
                let r = handle.await;
                guard.0.finish(r);
                drop(guard);
            },
            location,
        );
    });
    // If the target is gone the job comes back; dropping it drops the guard (rule 3).
    let _ = target.push_job(job);
    RemoteJoinHandle { slot }
}

/// Number of cores in the current runtime group (1 for a [`Runtime::new`](crate::Runtime::new)
/// runtime).
///
/// # Panics
///
/// Panics outside a runtime.
pub fn cores() -> usize {
    context::with_core(|c| c.mesh.len()).expect("ringbolt::cores called outside a ringbolt runtime")
}
