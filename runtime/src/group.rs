//! `JoinSet`: a group of tasks on this core whose results arrive as they finish, and which
//! aborts every child still running when it is dropped.
//!
//! Rules:
//! 1. Every child carries a guard that reports its key to the set when the child's future
//!    ends (finished, panicked or aborted), so `join_next` looks only at finished children.
//! 2. A child is removed from the set only when `join_next` hands out its result.
//! 3. Dropping the set aborts every child: their futures are dropped at the executor's next
//!    turn, which runs their destructors and cancels their I/O.

use crate::executor::join::{JoinError, JoinHandle};
use slab::Slab;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Keys of children whose futures have ended, in the order they ended.
#[derive(Default)]
struct Finished {
    keys: VecDeque<usize>,
    waker: Option<Waker>,
}

/// Reports a child's end to its set (rule 1).
struct DoneGuard {
    finished: Rc<RefCell<Finished>>,
    key: usize,
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        let waker = {
            let mut f = self.finished.borrow_mut();
            f.keys.push_back(self.key);
            f.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A set of tasks spawned on this core, joined in the order they finish.
///
/// Dropping the set aborts every task still in it. `!Send`, like the tasks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::task::JoinSet;
/// use ringbolt_runtime::time::sleep;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let order = rt.block_on(async {
///     let mut set = JoinSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(res) = set.join_next().await {
///         order.push(res.expect("task finished"));
///     }
///     order
/// });
/// assert_eq!(order, [10, 20, 30]);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The set stays on its core:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(ringbolt_runtime::task::JoinSet::<u32>::new());
/// ```
pub struct JoinSet<T> {
    handles: Slab<JoinHandle<T>>,
    finished: Rc<RefCell<Finished>>,
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            handles: Slab::new(),
            finished: Rc::new(RefCell::new(Finished::default())),
        }
    }

    /// Spawns `future` on this core as a member of the set.
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        let guard = DoneGuard {
            finished: self.finished.clone(),
            key: self.handles.vacant_key(),
        };
        let handle = crate::spawn(async move {
            let _guard = guard;
            future.await
        });
        self.handles.insert(handle);
    }

    /// The number of tasks in the set (running, or finished and not yet joined).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Waits for the next task to finish and returns its result; `None` when the set is empty.
    ///
    /// Cancel-safe: dropping the future loses no result.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Returns the result of a task that has already finished, if any, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let waker = Waker::noop();
        match self.poll_join_next(&mut Context::from_waker(waker)) {
            Poll::Ready(r) => r,
            Poll::Pending => None,
        }
    }

    /// Polls for the next finished task; `Ready(None)` when the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            let key = self.finished.borrow_mut().keys.pop_front();
            let Some(key) = key else {
                if self.handles.is_empty() {
                    return Poll::Ready(None);
                }
                let mut f = self.finished.borrow_mut();
                match &mut f.waker {
                    Some(w) => w.clone_from(cx.waker()),
                    slot => *slot = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            };
            let Some(handle) = self.handles.get_mut(key) else {
                continue;
            };
            match Pin::new(handle).poll(cx) {
                Poll::Ready(res) => {
                    self.handles.remove(key);
                    return Poll::Ready(Some(res));
                }
                Poll::Pending => {
                    // The future ended but the task is not marked complete yet; the handle
                    // now holds our waker.
                    self.finished.borrow_mut().keys.push_front(key);
                    return Poll::Pending;
                }
            }
        }
    }

    /// Waits for every task and returns their results in the order they finished.
    pub async fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            out.push(r);
        }
        out
    }

    /// Aborts every task in the set; they stay in it until joined (as cancelled, unless they
    /// had already finished).
    pub fn abort_all(&mut self) {
        for (_, h) in self.handles.iter() {
            h.abort();
        }
    }

    /// Aborts every task and waits until all have stopped; the set is empty afterwards.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for (_, h) in self.handles.iter() {
            h.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.handles.len())
            .finish()
    }
}
