//! A reusable barrier for tasks on one core.
//!
//! Rules:
//! 1. The tasks waiting in the current round are exactly the linked entries of the wait queue.
//!    The task whose arrival makes `n` is the leader: it releases everyone queued and the barrier
//!    starts a new round with nobody waiting.
//! 2. A [`BarrierWait`] dropped before its round completes leaves the queue, so its arrival no
//!    longer counts: the round still needs `n` live tasks.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait_queue::{WaitQueue, WakeList};

/// Makes `n` tasks wait for each other; the local counterpart of `tokio::sync::Barrier`.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use ringbolt_runtime::sync::Barrier;
///
/// # fn main() -> std::io::Result<()> {
/// ringbolt_runtime::Runtime::new()?.block_on(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let handles: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = Rc::clone(&barrier);
///             ringbolt_runtime::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for handle in handles {
///         leaders += usize::from(handle.await.expect("task completes"));
///     }
///     assert_eq!(leaders, 1);
/// });
/// # Ok(())
/// # }
/// ```
///
/// It stays on its core:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::sync::Barrier>();
/// ```
pub struct Barrier {
    n: usize,
    waiters: RefCell<WaitQueue<()>>,
    _not_send: PhantomData<*const ()>,
}

impl Barrier {
    /// Creates a barrier that releases tasks in groups of `n` (0 is treated as 1).
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            waiters: RefCell::new(WaitQueue::new()),
            _not_send: PhantomData,
        }
    }

    /// Waits until `n` tasks are waiting; exactly one of each group is told it is the leader.
    ///
    /// # Cancel safety
    /// Dropping the future before its group is complete withdraws its arrival (rule 2).
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
            result: None,
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("waiting", &self.waiters.borrow().len())
            .finish()
    }
}

/// Future returned by [`Barrier::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<usize>,
    result: Option<BarrierWaitResult>,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        if let Some(result) = this.result {
            return Poll::Ready(result);
        }
        let mut wakers = WakeList::new();
        let result = {
            let mut waiters = this.barrier.waiters.borrow_mut();
            match this.key {
                Some(key) if waiters.is_linked(key) => {
                    waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                Some(key) => {
                    // Unlinked: the leader released this round.
                    waiters.remove(key);
                    this.key = None;
                    BarrierWaitResult { leader: false }
                }
                None if waiters.len() + 1 < this.barrier.n => {
                    this.key = Some(waiters.push_back((), cx.waker().clone()));
                    return Poll::Pending;
                }
                None => {
                    while let Some(((), waker)) = waiters.pop_front() {
                        wakers.push(waker);
                    }
                    BarrierWaitResult { leader: true }
                }
            }
        };
        this.result = Some(result);
        wakers.wake_all();
        Poll::Ready(result)
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.barrier.waiters.borrow_mut().remove(key);
        }
    }
}

/// Returned by [`Barrier::wait`]; tells whether this task was its group's leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
}

impl BarrierWaitResult {
    /// True for exactly one task in each group: the one whose arrival completed it.
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}
