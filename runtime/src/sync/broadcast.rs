//! A multi-producer, multi-consumer broadcast channel between tasks on one core; the local
//! counterpart of `tokio::sync::broadcast`.
//!
//! Rules:
//! 1. Every value sent is seen by every receiver that existed when it was sent, in send order.
//!    A new receiver ([`Sender::subscribe`], [`Receiver::resubscribe`]) sees only later values.
//! 2. The channel keeps at most `capacity` values. Sending into a full channel evicts the oldest;
//!    a receiver that had not seen it gets [`RecvError::Lagged(n)`](error::RecvError::Lagged)
//!    with the number it missed, then continues from the oldest value still kept.
//! 3. A value is dropped as soon as every receiver that should see it has (or has gone).
//! 4. Sending wakes every waiting receiver. A `recv` future dropped while waiting leaves the
//!    queue; there is nothing to pass on, because every waiter is woken.
//! 5. Once every sender is dropped, receivers drain what they have not seen, then get
//!    [`RecvError::Closed`].
//!
//! # Examples
//!
//! ```
//! use ringbolt_runtime::sync::broadcast::{self, error::RecvError};
//!
//! # fn main() -> std::io::Result<()> {
//! ringbolt_runtime::Runtime::new()?.block_on(async {
//!     let (tx, mut rx1) = broadcast::channel(2);
//!     let mut rx2 = tx.subscribe();
//!     tx.send(1).expect("receivers exist");
//!     tx.send(2).expect("receivers exist");
//!     assert_eq!(rx1.recv().await, Ok(1));
//!     tx.send(3).expect("receivers exist"); // evicts 1, which rx2 has not seen
//!     assert_eq!(rx2.recv().await, Err(RecvError::Lagged(1)));
//!     assert_eq!(rx2.recv().await, Ok(2));
//!     drop(tx);
//!     assert_eq!(rx1.recv().await, Ok(2));
//!     assert_eq!(rx1.recv().await, Ok(3));
//!     assert_eq!(rx1.recv().await, Err(RecvError::Closed));
//! });
//! # Ok(())
//! # }
//! ```
//!
//! The halves stay on their core:
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_runtime::sync::broadcast::Sender<u32>>();
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::wait_queue::{WaitQueue, WakeList};

/// Errors returned by the channel halves.
pub mod error {
    use std::fmt;

    /// No receiver exists; the value that could not be sent is handed back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Error from [`Receiver::recv`](super::Receiver::recv).
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub enum RecvError {
        /// Every sender is gone and every value was received.
        Closed,
        /// This receiver fell behind: that many values were evicted before it saw them.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Error from [`Receiver::try_recv`](super::Receiver::try_recv).
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub enum TryRecvError {
        /// No unseen value, but senders remain.
        Empty,
        /// Every sender is gone and every value was received.
        Closed,
        /// This receiver fell behind: that many values were evicted before it saw them.
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    state: RefCell<State<T>>,
}

struct State<T> {
    capacity: usize,
    /// Kept values; `slots[0]` has position `head`.
    slots: VecDeque<Slot<T>>,
    head: u64,
    tx_count: usize,
    rx_count: usize,
    waiters: WaitQueue<()>,
}

struct Slot<T> {
    value: T,
    /// Receivers that should still see this value (rule 3).
    remaining: usize,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.slots.len() as u64
    }

    /// Moves fully seen values from the front into `dropped`, to be dropped after the borrow.
    fn trim(&mut self, dropped: &mut Vec<T>) {
        while self.slots.front().is_some_and(|slot| slot.remaining == 0) {
            if let Some(slot) = self.slots.pop_front() {
                self.head += 1;
                dropped.push(slot.value);
            }
        }
    }
}

/// Creates a broadcast channel that keeps at most `capacity` values.
///
/// # Panics
/// If `capacity` is 0.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel requires capacity > 0");
    let shared = Rc::new(Shared {
        state: RefCell::new(State {
            capacity,
            slots: VecDeque::with_capacity(capacity),
            head: 0,
            tx_count: 1,
            rx_count: 1,
            waiters: WaitQueue::new(),
        }),
    });
    (
        Sender {
            shared: Rc::clone(&shared),
        },
        Receiver { shared, next: 0 },
    )
}

/// Sends values to every [`Receiver`]; clone it for more senders.
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver and returns how many there are.
    ///
    /// If the channel is full, the oldest value is evicted (rule 2).
    ///
    /// # Errors
    /// [`SendError`] with the value if there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut wakers = WakeList::new();
        let evicted;
        let receivers;
        {
            let mut state = self.shared.state.borrow_mut();
            receivers = state.rx_count;
            if receivers == 0 {
                return Err(SendError(value));
            }
            evicted = if state.slots.len() == state.capacity {
                state.head += 1;
                state.slots.pop_front()
            } else {
                None
            };
            state.slots.push_back(Slot {
                value,
                remaining: receivers,
            });
            while let Some(((), waker)) = state.waiters.pop_front() {
                wakers.push(waker);
            }
        }
        drop(evicted);
        wakers.wake_all();
        Ok(receivers)
    }

    /// A new receiver that sees values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.state.borrow_mut();
        state.rx_count += 1;
        let next = state.tail();
        Receiver {
            shared: Rc::clone(&self.shared),
            next,
        }
    }

    /// Number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.borrow().rx_count
    }

    /// Number of kept values that some receiver has not seen yet.
    pub fn len(&self) -> usize {
        self.shared.state.borrow().slots.len()
    }

    /// True if every receiver has seen every value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state.borrow_mut().tx_count += 1;
        Sender {
            shared: Rc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakers = WakeList::new();
        {
            let mut state = self.shared.state.borrow_mut();
            state.tx_count -= 1;
            if state.tx_count == 0 {
                while let Some(((), waker)) = state.waiters.pop_front() {
                    wakers.push(waker);
                }
            }
        }
        wakers.wake_all();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

/// Receives every value sent after it was created.
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// Position of the next value to receive.
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next value.
    ///
    /// # Errors
    /// [`RecvError::Lagged`] if values were evicted before this receiver saw them (the next call
    /// returns the oldest kept value); [`RecvError::Closed`] once every sender is gone and every
    /// value was received.
    ///
    /// # Cancel safety
    /// Cancel safe: a value is taken only when the future returns it.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            key: None,
        }
    }

    /// Takes the next value if there is one.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if there is no unseen value; otherwise as for
    /// [`recv`](Self::recv).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut dropped = Vec::new();
        let result = {
            let mut state = self.shared.state.borrow_mut();
            take(&mut self.next, &mut state, &mut dropped)
        };
        drop(dropped);
        result
    }

    /// A new receiver that sees values sent from now on.
    pub fn resubscribe(&self) -> Self {
        let mut state = self.shared.state.borrow_mut();
        state.rx_count += 1;
        let next = state.tail();
        Receiver {
            shared: Rc::clone(&self.shared),
            next,
        }
    }
}

impl<T> Receiver<T> {
    /// Number of kept values this receiver has not seen.
    pub fn len(&self) -> usize {
        let state = self.shared.state.borrow();
        (state.tail() - self.next.max(state.head)) as usize
    }

    /// True if this receiver has seen every kept value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once every sender is gone (unseen values may remain).
    pub fn is_closed(&self) -> bool {
        self.shared.state.borrow().tx_count == 0
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut dropped = Vec::new();
        {
            let mut state = self.shared.state.borrow_mut();
            state.rx_count -= 1;
            let start = self.next.saturating_sub(state.head) as usize;
            for slot in state.slots.iter_mut().skip(start) {
                slot.remaining -= 1;
            }
            state.trim(&mut dropped);
        }
        drop(dropped);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .finish()
    }
}

/// Takes the value at position `next` out of `state`; fully seen values go to `dropped`.
fn take<T: Clone>(
    next: &mut u64,
    state: &mut State<T>,
    dropped: &mut Vec<T>,
) -> Result<T, TryRecvError> {
    if *next < state.head {
        let missed = state.head - *next;
        *next = state.head;
        return Err(TryRecvError::Lagged(missed));
    }
    let index = (*next - state.head) as usize;
    let Some(slot) = state.slots.get_mut(index) else {
        return Err(if state.tx_count == 0 {
            TryRecvError::Closed
        } else {
            TryRecvError::Empty
        });
    };
    *next += 1;
    slot.remaining -= 1;
    if slot.remaining > 0 || index > 0 {
        return Ok(slot.value.clone());
    }
    // The last receiver to see the front value takes it without a clone (rule 3).
    let front = state.slots.pop_front();
    state.head += 1;
    state.trim(dropped);
    match front {
        Some(slot) => Ok(slot.value),
        None => Err(TryRecvError::Empty),
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    key: Option<usize>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut dropped = Vec::new();
        let result = {
            let receiver = &mut *this.receiver;
            let mut state = receiver.shared.state.borrow_mut();
            if let Some(key) = this.key {
                if state.waiters.is_linked(key) {
                    // Not woken since it registered: nothing new can have arrived.
                    state.waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                state.waiters.remove(key);
                this.key = None;
            }
            match take(&mut receiver.next, &mut state, &mut dropped) {
                Ok(value) => Ok(value),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
                Err(TryRecvError::Empty) => {
                    this.key = Some(state.waiters.push_back((), cx.waker().clone()));
                    return Poll::Pending;
                }
            }
        };
        drop(dropped);
        Poll::Ready(result)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.receiver.shared.state.borrow_mut().waiters.remove(key);
        }
    }
}
