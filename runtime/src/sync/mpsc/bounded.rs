//! The bounded channel: senders wait for a free slot (back-pressure).

use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::chan::{Chan, Rx};
use super::error::{SendError, TryRecvError, TrySendError};
use crate::sync::semaphore::{Semaphore, TryAcquireError};

/// Creates a channel that holds at most `capacity` queued messages.
///
/// # Panics
/// If `capacity` is 0 or larger than [`Semaphore::MAX_PERMITS`].
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let chan = Rc::new(Chan::new(Semaphore::new(capacity)));
    (
        Sender {
            chan: Rc::clone(&chan),
            capacity,
        },
        Receiver {
            rx: Rx { chan },
            capacity,
        },
    )
}

/// Sends values to the [`Receiver`] of a bounded channel; clone it for more senders.
pub struct Sender<T> {
    chan: Rc<Chan<T, Semaphore>>,
    capacity: usize,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for a free slot while the channel is full.
    ///
    /// Senders waiting for a slot are served in FIFO order.
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is dropped or closed, before or while waiting.
    ///
    /// # Cancel safety
    /// Dropping the future gives up its place in the queue (passing on a slot it was handed) and
    /// drops the value unsent.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.reserve().await {
            Ok(permit) if !self.chan.is_closed() => {
                permit.send(value);
                Ok(())
            }
            _ => Err(SendError(value)),
        }
    }

    /// Sends `value` if a slot is free right now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when there is no free slot (or other senders are waiting for one),
    /// [`TrySendError::Closed`] when the receiver is dropped or closed.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.try_reserve() {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(value)),
        }
    }

    /// Waits for a free slot and reserves it.
    ///
    /// # Errors
    /// [`SendError`] if the receiver is dropped or closed, before or while waiting.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        match self.chan.slots.acquire().await {
            Ok(slot) => {
                slot.forget();
                Ok(Permit { chan: &self.chan })
            }
            Err(_) => Err(SendError(())),
        }
    }

    /// Reserves a slot if one is free right now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], as for [`try_send`](Self::try_send).
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.slots.try_acquire() {
            Ok(slot) => {
                slot.forget();
                Ok(Permit { chan: &self.chan })
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// True once the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Completes once the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.chan.closed().await;
    }

    /// Number of free slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.slots.available_permits()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.capacity
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: Rc::clone(&self.chan),
            capacity: self.capacity,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .field("max_capacity", &self.capacity)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A reserved slot in a bounded channel; sending through it cannot fail or wait.
///
/// Dropping it unused frees the slot.
#[must_use = "the reserved slot is freed as soon as the permit is dropped"]
pub struct Permit<'a, T> {
    chan: &'a Chan<T, Semaphore>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot.
    ///
    /// If the receiver has closed meanwhile, the value is dropped.
    pub fn send(self, value: T) {
        let chan = self.chan;
        if chan.is_closed() {
            // Dropping `self` frees the slot; the value goes with it.
            drop(self);
            drop(value);
            return;
        }
        // The slot now belongs to the queued message; receiving it frees the slot.
        std::mem::forget(self);
        chan.push(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.slots.release(1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// Receives values from the [`Sender`]s of a bounded channel.
pub struct Receiver<T> {
    rx: Rx<T, Semaphore>,
    capacity: usize,
}

impl<T> Receiver<T> {
    /// Waits for the next value; `None` once the channel is empty and no value can arrive.
    ///
    /// No value can arrive when every sender is dropped or after [`close`](Self::close).
    ///
    /// # Cancel safety
    /// Cancel safe: a value is taken only when the future returns it.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    /// Polls for the next value; see [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// Waits for at least one value, then moves up to `limit` queued values into `buffer`.
    ///
    /// Returns how many were moved; 0 only when `limit` is 0 or no value can arrive any more.
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.rx.poll_recv_many(cx, buffer, limit)).await
    }

    /// Takes the next value if one is queued.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing is queued, [`TryRecvError::Disconnected`] if nothing is
    /// queued and no value can arrive.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// Closes the channel: sends fail from now on, values already queued can still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// True once [`close`](Self::close) was called or every sender is dropped.
    pub fn is_closed(&self) -> bool {
        self.rx.is_finished()
    }

    /// Number of queued values.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// True if no value is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of free slots right now.
    pub fn capacity(&self) -> usize {
        self.rx.chan.slots.available_permits()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.capacity
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("max_capacity", &self.capacity)
            .finish()
    }
}
