//! The state shared by the halves of a bounded or unbounded channel, and the receive side.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use super::error::TryRecvError;
use crate::sync::notify::Notify;
use crate::sync::semaphore::Semaphore;
use crate::sync::wait_queue::register_waker;

/// How a channel limits its length: a [`Semaphore`] of free slots, or not at all.
pub(super) trait Slots {
    /// A received message frees its slot.
    fn release(&self, n: usize);
    /// The receiver is gone: fail every sender waiting for a slot.
    fn close(&self);
}

impl Slots for Semaphore {
    #[inline]
    fn release(&self, n: usize) {
        Semaphore::release(self, n);
    }

    fn close(&self) {
        Semaphore::close(self);
    }
}

/// The slots of an unbounded channel: there is always room.
pub(super) struct Unbounded;

impl Slots for Unbounded {
    fn release(&self, _n: usize) {}

    fn close(&self) {}
}

pub(super) struct Chan<T, S> {
    queue: RefCell<VecDeque<T>>,
    rx_waker: Cell<Option<Waker>>,
    tx_count: Cell<usize>,
    rx_closed: Cell<bool>,
    /// Wakes tasks in `Sender::closed`.
    closed_notify: Notify,
    pub(super) slots: S,
}

impl<T, S: Slots> Chan<T, S> {
    pub(super) fn new(slots: S) -> Self {
        Chan {
            queue: RefCell::new(VecDeque::new()),
            rx_waker: Cell::new(None),
            tx_count: Cell::new(1),
            rx_closed: Cell::new(false),
            closed_notify: Notify::new(),
            slots,
        }
    }

    /// Queues a value (whose slot, if any, is already taken) and wakes the receiver.
    pub(super) fn push(&self, value: T) {
        self.queue.borrow_mut().push_back(value);
        if let Some(waker) = self.rx_waker.take() {
            waker.wake();
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.rx_closed.get()
    }

    pub(super) async fn closed(&self) {
        loop {
            // Created before the check, so a close in between is not missed.
            let notified = self.closed_notify.notified();
            if self.rx_closed.get() {
                return;
            }
            notified.await;
        }
    }

    pub(super) fn add_sender(&self) {
        self.tx_count.set(self.tx_count.get() + 1);
    }

    pub(super) fn drop_sender(&self) {
        let count = self.tx_count.get() - 1;
        self.tx_count.set(count);
        if count == 0 {
            if let Some(waker) = self.rx_waker.take() {
                waker.wake();
            }
        }
    }
}

/// The receive side, shared by `Receiver` and `UnboundedReceiver`.
pub(super) struct Rx<T, S: Slots> {
    pub(super) chan: std::rc::Rc<Chan<T, S>>,
}

impl<T, S: Slots> Rx<T, S> {
    /// Nothing can arrive any more: every sender is gone, or the receiver closed.
    pub(super) fn is_finished(&self) -> bool {
        self.chan.tx_count.get() == 0 || self.chan.rx_closed.get()
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let popped = self.chan.queue.borrow_mut().pop_front();
        if let Some(value) = popped {
            self.chan.slots.release(1);
            return Poll::Ready(Some(value));
        }
        if self.is_finished() {
            return Poll::Ready(None);
        }
        register_waker(&self.chan.rx_waker, cx.waker());
        Poll::Pending
    }

    pub(super) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let taken = {
            let mut queue = self.chan.queue.borrow_mut();
            let n = queue.len().min(limit);
            buffer.extend(queue.drain(..n));
            n
        };
        if taken > 0 {
            self.chan.slots.release(taken);
            return Poll::Ready(taken);
        }
        if self.is_finished() {
            return Poll::Ready(0);
        }
        register_waker(&self.chan.rx_waker, cx.waker());
        Poll::Pending
    }

    pub(super) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let popped = self.chan.queue.borrow_mut().pop_front();
        if let Some(value) = popped {
            self.chan.slots.release(1);
            return Ok(value);
        }
        if self.is_finished() {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    pub(super) fn close(&mut self) {
        if !self.chan.rx_closed.replace(true) {
            self.chan.slots.close();
            self.chan.closed_notify.notify_waiters();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.chan.queue.borrow().len()
    }
}

impl<T, S: Slots> Drop for Rx<T, S> {
    fn drop(&mut self) {
        self.close();
        // One at a time, outside the borrow: a message's destructor may use this channel.
        loop {
            let popped = self.chan.queue.borrow_mut().pop_front();
            match popped {
                Some(value) => drop(value),
                None => break,
            }
        }
    }
}
