//! A single-value channel between tasks on one core; the local counterpart of
//! `tokio::sync::oneshot`.
//!
//! Rules:
//! 1. [`Sender::send`] consumes the sender; it fails, handing the value back, once the receiver is
//!    dropped or closed.
//! 2. Dropping the sender (after sending or not) wakes the receiver; a receiver that finds no
//!    value after that gets [`RecvError`].
//! 3. Dropping or closing the receiver wakes a task waiting in [`Sender::closed`]. A value sent but
//!    never received is dropped with the channel.
//!
//! # Examples
//!
//! ```
//! use ringbolt_runtime::sync::oneshot;
//!
//! # fn main() -> std::io::Result<()> {
//! ringbolt_runtime::Runtime::new()?.block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     ringbolt_runtime::spawn(async move {
//!         if tx.send(42).is_err() {
//!             println!("the receiver went away");
//!         }
//!     });
//!     assert_eq!(rx.await, Ok(42));
//!
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     drop(tx);
//!     assert!(rx.await.is_err());
//! });
//! # Ok(())
//! # }
//! ```
//!
//! Both halves stay on their core:
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_runtime::sync::oneshot::Sender<u32>>();
//! ```

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::wait_queue::register_waker;

/// Errors returned by the [`Receiver`].
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending a value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// Error from [`Receiver::try_recv`](super::Receiver::try_recv).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value has been sent yet.
        Empty,
        /// The sender was dropped without sending a value, or the value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct Inner<T> {
    value: Cell<Option<T>>,
    tx_gone: Cell<bool>,
    rx_closed: Cell<bool>,
    rx_waker: Cell<Option<Waker>>,
    tx_waker: Cell<Option<Waker>>,
}

/// Creates a oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Rc::new(Inner {
        value: Cell::new(None),
        tx_gone: Cell::new(false),
        rx_closed: Cell::new(false),
        rx_waker: Cell::new(None),
        tx_waker: Cell::new(None),
    });
    (
        Sender {
            inner: Rc::clone(&inner),
        },
        Receiver { inner },
    )
}

/// Sends one value to the [`Receiver`].
pub struct Sender<T> {
    inner: Rc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, consuming the sender.
    ///
    /// # Errors
    /// Returns `Err(value)` if the receiver was dropped or closed.
    pub fn send(self, value: T) -> Result<(), T> {
        if self.inner.rx_closed.get() {
            return Err(value);
        }
        self.inner.value.set(Some(value));
        // Dropping `self` wakes the receiver (rule 2).
        Ok(())
    }

    /// True once the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.inner.rx_closed.get()
    }

    /// Completes once the receiver is dropped or closed.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await;
    }

    /// Polls for the receiver to be dropped or closed.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.rx_closed.get() {
            return Poll::Ready(());
        }
        register_waker(&self.inner.tx_waker, cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.inner.tx_gone.set(true);
        if let Some(waker) = self.inner.rx_waker.take() {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Receives the value sent by the [`Sender`]; await it directly.
///
/// Resolves to `Ok(value)`, or `Err(RecvError)` if the sender was dropped without sending.
#[must_use = "futures do nothing unless polled"]
pub struct Receiver<T> {
    inner: Rc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing was sent yet; [`TryRecvError::Closed`] if the sender is
    /// gone without sending, or the value was already received.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(value) = self.inner.value.take() {
            // A value that was received is gone: later calls report `Closed`.
            self.inner.tx_gone.set(true);
            return Ok(value);
        }
        if self.inner.tx_gone.get() {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Stops the sender from sending; a value already sent can still be received.
    pub fn close(&mut self) {
        self.mark_closed();
    }

    fn mark_closed(&self) {
        if !self.inner.rx_closed.replace(true) {
            if let Some(waker) = self.inner.tx_waker.take() {
                waker.wake();
            }
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.try_recv() {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError(()))),
            Err(TryRecvError::Empty) => {
                register_waker(&this.inner.rx_waker, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.mark_closed();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("sender_gone", &self.inner.tx_gone.get())
            .finish()
    }
}
