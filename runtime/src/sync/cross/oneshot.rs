//! A one-value channel whose halves may be on different cores: the reply path of a request
//! sent over a cross-core [`channel`](super::channel).
//!
//! Rules:
//! 1. The receiver is woken once: when the value arrives or the sender is dropped.
//! 2. Sending after the receiver is gone hands the value back.
//!
//! # Examples
//!
//! ```
//! use ringbolt_runtime::sync::cross::oneshot;
//!
//! let (tx, rx) = oneshot::channel();
//! std::thread::spawn(move || tx.send(7_u32));
//! let rt = ringbolt_runtime::Runtime::new()?;
//! assert_eq!(rt.block_on(rx), Ok(7));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The sender was dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending")
    }
}

impl std::error::Error for RecvError {}

struct Inner<T> {
    value: Option<T>,
    waker: Option<Waker>,
    tx_gone: bool,
    rx_gone: bool,
}

type Shared<T> = Arc<Mutex<Inner<T>>>;

fn lock<T>(s: &Shared<T>) -> MutexGuard<'_, Inner<T>> {
    // No critical section can panic half-way.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates a one-value channel; both halves are `Send` for `T: Send`.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Inner {
        value: None,
        waker: None,
        tx_gone: false,
        rx_gone: false,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Sends the one value.
pub struct Sender<T> {
    shared: Shared<T>,
}

impl<T> Sender<T> {
    /// Sends the value and wakes the receiver.
    ///
    /// # Errors
    ///
    /// Hands the value back if the receiver was dropped.
    pub fn send(self, value: T) -> Result<(), T> {
        let mut inner = lock(&self.shared);
        if inner.rx_gone {
            return Err(value);
        }
        inner.value = Some(value);
        inner.tx_gone = true;
        let waker = inner.waker.take();
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether the receiver was dropped.
    pub fn is_closed(&self) -> bool {
        lock(&self.shared).rx_gone
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut inner = lock(&self.shared);
        if inner.tx_gone {
            return;
        }
        inner.tx_gone = true;
        let waker = inner.waker.take();
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cross::oneshot::Sender")
    }
}

/// Receives the one value; await it.
pub struct Receiver<T> {
    shared: Shared<T>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has arrived.
    ///
    /// # Errors
    ///
    /// `Ok(None)` means not yet; `Err` means the sender was dropped without sending.
    pub fn try_recv(&mut self) -> Result<Option<T>, RecvError> {
        let mut inner = lock(&self.shared);
        match inner.value.take() {
            Some(v) => Ok(Some(v)),
            None if inner.tx_gone => Err(RecvError(())),
            None => Ok(None),
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = lock(&self.shared);
        if let Some(v) = inner.value.take() {
            return Poll::Ready(Ok(v));
        }
        if inner.tx_gone {
            return Poll::Ready(Err(RecvError(())));
        }
        match &mut inner.waker {
            Some(w) => w.clone_from(cx.waker()),
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let value = {
            let mut inner = lock(&self.shared);
            inner.rx_gone = true;
            inner.waker = None;
            inner.value.take()
        };
        drop(value);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cross::oneshot::Receiver")
    }
}
