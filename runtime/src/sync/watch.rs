//! A single-value channel whose receivers watch for changes, between tasks on one core; the local
//! counterpart of `tokio::sync::watch`.
//!
//! Rules:
//! 1. The channel holds one value and a version that every send increments. A receiver remembers
//!    the version it last saw; [`Receiver::changed`] completes when the two differ.
//! 2. A new receiver (from [`channel`], [`Sender::subscribe`]) has seen the current value; a
//!    clone has seen what the original has seen.
//! 3. Sends wake every receiver waiting in `changed` (a [`Notify`] with `notify_waiters`), so a
//!    dropped `changed` future has nothing to pass on.
//! 4. The value sits in a `RefCell`. A [`Ref`] from `borrow` holds a shared borrow, so sending
//!    while any `Ref` is alive panics: do not hold a `Ref` across an `.await` (with tokio the same
//!    mistake deadlocks).
//! 5. Dropping the sender wakes every receiver; `changed` then fails once the last change has
//!    been seen.
//!
//! # Examples
//!
//! ```
//! use ringbolt_runtime::sync::watch;
//!
//! # fn main() -> std::io::Result<()> {
//! ringbolt_runtime::Runtime::new()?.block_on(async {
//!     let (tx, mut rx) = watch::channel("idle");
//!     let watcher = ringbolt_runtime::spawn(async move {
//!         let mut seen = Vec::new();
//!         while rx.changed().await.is_ok() {
//!             seen.push(*rx.borrow_and_update());
//!         }
//!         seen
//!     });
//!     ringbolt_runtime::task::yield_now().await;
//!     tx.send("busy").expect("a receiver exists");
//!     ringbolt_runtime::task::yield_now().await;
//!     tx.send("done").expect("a receiver exists");
//!     drop(tx);
//!     assert_eq!(watcher.await.expect("task completes"), ["busy", "done"]);
//! });
//! # Ok(())
//! # }
//! ```
//!
//! The halves stay on their core:
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_runtime::sync::watch::Receiver<u32>>();
//! ```

use std::cell::{self, Cell, RefCell};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

use super::notify::Notify;

/// Errors returned by the channel halves.
pub mod error {
    use std::fmt;

    /// Every receiver is gone; the value that could not be sent is handed back.
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

    /// The sender is gone.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct Shared<T> {
    value: RefCell<T>,
    version: Cell<u64>,
    tx_alive: Cell<bool>,
    rx_count: Cell<usize>,
    /// Wakes receivers in `changed` (rule 3).
    changed: Notify,
    /// Wakes the sender in `closed`.
    rx_gone: Notify,
}

/// Creates a watch channel holding `init`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(Shared {
        value: RefCell::new(init),
        version: Cell::new(0),
        tx_alive: Cell::new(true),
        rx_count: Cell::new(1),
        changed: Notify::new(),
        rx_gone: Notify::new(),
    });
    (
        Sender {
            shared: Rc::clone(&shared),
        },
        Receiver { shared, seen: 0 },
    )
}

/// A borrow of the value in a watch channel; see rule 4 of the [module docs](self).
pub struct Ref<'a, T> {
    inner: cell::Ref<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// True if the value had not been seen by this receiver when it was borrowed.
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Updates the value of a watch channel.
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies receivers.
    ///
    /// # Errors
    /// [`SendError`] with the value if there is no receiver (the value is not stored).
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive (rule 4).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.rx_count.get() == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Replaces the value, notifies receivers, and returns the old value, even with no receiver.
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive (rule 4).
    pub fn send_replace(&self, value: T) -> T {
        let old = std::mem::replace(&mut *self.shared.value.borrow_mut(), value);
        self.bump();
        old
    }

    /// Modifies the value in place and notifies receivers, even with no receiver.
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive (rule 4), or if `modify` panics (then nobody is
    /// notified).
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place; notifies receivers only if `modify` returns true.
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive (rule 4), or if `modify` panics (then nobody is
    /// notified).
    pub fn send_if_modified<F: FnOnce(&mut T) -> bool>(&self, modify: F) -> bool {
        let modified = modify(&mut self.shared.value.borrow_mut());
        if modified {
            self.bump();
        }
        modified
    }

    fn bump(&self) {
        self.shared.version.set(self.shared.version.get() + 1);
        self.shared.changed.notify_waiters();
    }

    /// Borrows the current value; see rule 4 of the [module docs](self).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.borrow(),
            has_changed: false,
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.rx_count.set(self.shared.rx_count.get() + 1);
        Receiver {
            shared: Rc::clone(&self.shared),
            seen: self.shared.version.get(),
        }
    }

    /// Number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.get()
    }

    /// True when there is no receiver.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Completes once there is no receiver.
    pub async fn closed(&self) {
        loop {
            // Created before the check, so a drop in between is not missed.
            let notified = self.shared.rx_gone.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.tx_alive.set(false);
        self.shared.changed.notify_waiters();
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("value", &self.shared.value.try_borrow().ok())
            .field("version", &self.shared.version.get())
            .finish()
    }
}

/// Watches the value of a watch channel; clone it for more receivers.
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// The version this receiver last saw (rule 1).
    seen: u64,
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen; see rule 4 of the [module docs](self).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.borrow(),
            has_changed: self.seen != self.shared.version.get(),
        }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let version = self.shared.version.get();
        let has_changed = self.seen != version;
        self.seen = version;
        Ref {
            inner: self.shared.value.borrow(),
            has_changed,
        }
    }

    /// True if the value changed since this receiver last saw it.
    ///
    /// # Errors
    /// [`RecvError`] if the sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if !self.shared.tx_alive.get() {
            return Err(RecvError(()));
        }
        Ok(self.seen != self.shared.version.get())
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version.get();
    }

    /// Marks the current value unseen, so the next [`changed`](Self::changed) completes at once.
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.version.get().wrapping_sub(1);
    }

    /// Waits until the value changes from the one this receiver last saw, and marks it seen.
    ///
    /// # Errors
    /// [`RecvError`] if the sender is gone and the last value was already seen.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        loop {
            // Created before the check, so a send in between is not missed.
            let notified = self.shared.changed.notified();
            let version = self.shared.version.get();
            if self.seen != version {
                self.seen = version;
                return Ok(());
            }
            if !self.shared.tx_alive.get() {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }

    /// Waits until `predicate` holds for the value, marks it seen and returns a borrow of it.
    ///
    /// The current value is checked first.
    ///
    /// # Errors
    /// [`RecvError`] if the sender is gone before the predicate holds.
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let mut checked_current = false;
        loop {
            if checked_current {
                self.changed().await?;
            } else {
                checked_current = true;
                self.mark_unchanged();
            }
            if predicate(&self.shared.value.borrow()) {
                break;
            }
        }
        Ok(Ref {
            inner: self.shared.value.borrow(),
            has_changed: false,
        })
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.rx_count.set(self.shared.rx_count.get() + 1);
        Receiver {
            shared: Rc::clone(&self.shared),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let count = self.shared.rx_count.get() - 1;
        self.shared.rx_count.set(count);
        if count == 0 {
            self.shared.rx_gone.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("value", &self.shared.value.try_borrow().ok())
            .field("seen", &self.seen)
            .finish()
    }
}
