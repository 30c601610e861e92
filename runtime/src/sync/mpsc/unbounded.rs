//! The unbounded channel: sending never waits.

use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::chan::{Chan, Rx, Unbounded};
use super::error::{SendError, TryRecvError};

/// Creates a channel with no limit on queued messages.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Rc::new(Chan::new(Unbounded));
    (
        UnboundedSender {
            chan: Rc::clone(&chan),
        },
        UnboundedReceiver { rx: Rx { chan } },
    )
}

/// Sends values to the [`UnboundedReceiver`]; clone it for more senders.
pub struct UnboundedSender<T> {
    chan: Rc<Chan<T, Unbounded>>,
}

impl<T> UnboundedSender<T> {
    /// Queues `value` without waiting.
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is dropped or closed.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.chan.is_closed() {
            return Err(SendError(value));
        }
        self.chan.push(value);
        Ok(())
    }

    /// True once the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Completes once the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.chan.closed().await;
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: Rc::clone(&self.chan),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Receives values from the [`UnboundedSender`]s.
pub struct UnboundedReceiver<T> {
    rx: Rx<T, Unbounded>,
}

impl<T> UnboundedReceiver<T> {
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
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("len", &self.len())
            .finish()
    }
}
