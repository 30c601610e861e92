//! Task notification for tasks on one core, with tokio's `Notify` semantics.
//!
//! Rules:
//! 1. [`Notify::notify_one`] wakes the longest-waiting [`Notified`]; with nobody waiting it stores
//!    one permit (at most one), which the next `notified().await` consumes at once.
//! 2. [`Notify::notify_waiters`] wakes every `Notified` created before the call, polled or not,
//!    and stores no permit. A `Notified` records the call count when it is created to see this.
//! 3. A `Notified` dropped after `notify_one` or `notify_last` picked it, but before it returned
//!    `Ready`, passes the notification on the same way (to the next oldest waiter for
//!    `notify_one`, the next newest for `notify_last`, or back into the permit), so it is never
//!    lost.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::wait_queue::{WaitQueue, WakeList};

/// Wakes one task or all waiting tasks; the local counterpart of `tokio::sync::Notify`.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use ringbolt_runtime::sync::Notify;
///
/// # fn main() -> std::io::Result<()> {
/// ringbolt_runtime::Runtime::new()?.block_on(async {
///     let notify = Rc::new(Notify::new());
///     let waiter = {
///         let notify = Rc::clone(&notify);
///         ringbolt_runtime::spawn(async move {
///             notify.notified().await;
///             "woken"
///         })
///     };
///     // Stored as a permit if the waiter has not started waiting yet.
///     notify.notify_one();
///     assert_eq!(waiter.await.expect("task completes"), "woken");
/// });
/// # Ok(())
/// # }
/// ```
///
/// It stays on its core:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::sync::Notify>();
/// ```
pub struct Notify {
    state: RefCell<State>,
    _not_send: PhantomData<*const ()>,
}

struct State {
    permit: bool,
    /// Number of `notify_waiters` calls so far (rule 2).
    waiters_calls: u64,
    waiters: WaitQueue<Outcome>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Waiting,
    /// Picked by `notify_one`; passed on to the next oldest waiter if dropped unobserved.
    First,
    /// Picked by `notify_last`; passed on to the next newest waiter if dropped unobserved.
    Last,
    /// Woken by `notify_waiters`.
    All,
}

impl Notify {
    /// Creates a `Notify` with no stored permit.
    pub const fn new() -> Self {
        Notify {
            state: RefCell::new(State {
                permit: false,
                waiters_calls: 0,
                waiters: WaitQueue::new(),
            }),
            _not_send: PhantomData,
        }
    }

    /// A future that completes on the next notification.
    ///
    /// It sees [`notify_waiters`](Self::notify_waiters) calls made after this returns, even before
    /// it is first polled.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            waiters_calls: self.state.borrow().waiters_calls,
            key: None,
            done: false,
        }
    }

    /// Wakes the longest-waiting task, or stores a permit if none is waiting.
    pub fn notify_one(&self) {
        self.notify_single(true);
    }

    /// Wakes the most recent waiting task, or stores a permit if none is waiting.
    pub fn notify_last(&self) {
        self.notify_single(false);
    }

    fn notify_single(&self, front: bool) {
        let waker = {
            let mut state = self.state.borrow_mut();
            let popped = if front {
                state.waiters.pop_front()
            } else {
                state.waiters.pop_back()
            };
            match popped {
                Some((outcome, waker)) => {
                    *outcome = if front { Outcome::First } else { Outcome::Last };
                    waker
                }
                None => {
                    state.permit = true;
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every task waiting now (and every `Notified` already created); stores no permit.
    pub fn notify_waiters(&self) {
        let mut wakers = WakeList::new();
        {
            let mut state = self.state.borrow_mut();
            state.waiters_calls += 1;
            while let Some((outcome, waker)) = state.waiters.pop_front() {
                *outcome = Outcome::All;
                wakers.push(waker);
            }
        }
        wakers.wake_all();
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// Future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    waiters_calls: u64,
    key: Option<usize>,
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let mut state = this.notify.state.borrow_mut();
        let Some(key) = this.key else {
            if state.waiters_calls != this.waiters_calls {
                this.done = true;
                return Poll::Ready(());
            }
            if state.permit {
                state.permit = false;
                this.done = true;
                return Poll::Ready(());
            }
            this.key = Some(
                state
                    .waiters
                    .push_back(Outcome::Waiting, cx.waker().clone()),
            );
            return Poll::Pending;
        };
        if *state.waiters.get(key) == Outcome::Waiting {
            state.waiters.set_waker(key, cx.waker());
            return Poll::Pending;
        }
        state.waiters.remove(key);
        this.key = None;
        this.done = true;
        Poll::Ready(())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let outcome = self.notify.state.borrow_mut().waiters.remove(key);
        // Rule 3.
        match outcome {
            Outcome::First => self.notify.notify_single(true),
            Outcome::Last => self.notify.notify_single(false),
            Outcome::Waiting | Outcome::All => {}
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("waiting", &self.key.is_some())
            .field("done", &self.done)
            .finish()
    }
}
