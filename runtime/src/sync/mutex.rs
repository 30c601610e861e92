//! A FIFO-fair async mutex for tasks on one core.
//!
//! Rules:
//! 1. The lock is a one-permit [`Semaphore`] that is never closed, so waiters are served in FIFO
//!    order and unlocking hands the lock straight to the next waiter.
//! 2. The value lives in a `RefCell`; the guard holds its `RefMut`. Rule 1 makes that borrow
//!    always succeed, so the mutex needs no `unsafe`.
//! 3. The guard drops the `RefMut` before it releases the permit (field order).

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::semaphore::{AcquireError, Semaphore, SemaphorePermit, WaitSlot};

/// An async mutual-exclusion lock whose waiters are served in FIFO order.
///
/// The local (single-core) counterpart of `tokio::sync::Mutex`. Holding the guard across an
/// `.await` is fine: other tasks that call [`lock`](Mutex::lock) wait their turn.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use ringbolt_runtime::sync::Mutex;
///
/// # fn main() -> std::io::Result<()> {
/// ringbolt_runtime::Runtime::new()?.block_on(async {
///     let count = Rc::new(Mutex::new(0));
///     let mut handles = Vec::new();
///     for _ in 0..10 {
///         let count = Rc::clone(&count);
///         handles.push(ringbolt_runtime::spawn(async move {
///             let mut guard = count.lock().await;
///             let seen = *guard;
///             ringbolt_runtime::task::yield_now().await;
///             *guard = seen + 1;
///         }));
///     }
///     for handle in handles {
///         handle.await.expect("task completes");
///     }
///     assert_eq!(*count.lock().await, 10);
/// });
/// # Ok(())
/// # }
/// ```
///
/// It stays on its core:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::sync::Mutex<u32>>();
/// ```
pub struct Mutex<T: ?Sized> {
    sem: Semaphore,
    value: RefCell<T>,
}

/// Error from [`Mutex::try_lock`], [`RwLock::try_read`](super::RwLock::try_read) and
/// [`RwLock::try_write`](super::RwLock::try_write): the lock is held or has waiters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

/// Unwraps an acquire on a semaphore that is private to a lock and therefore never closed.
pub(crate) fn never_closed<T>(result: Result<T, AcquireError>) -> T {
    match result {
        Ok(value) => value,
        // The semaphores of Mutex and RwLock are private fields and `close` is never called on
        // them, so an acquire cannot observe a closed semaphore.
        Err(AcquireError { .. }) => unreachable!("lock semaphores are never closed"),
    }
}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            sem: Semaphore::new(1),
            value: RefCell::new(value),
        }
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits until the lock is free, then locks it.
    ///
    /// # Cancel safety
    /// Dropping the future gives up its place in the queue; if the lock had already been handed
    /// to it, the lock passes to the next waiter.
    pub fn lock(&self) -> MutexLock<'_, T> {
        MutexLock {
            mutex: self,
            slot: WaitSlot::new(1),
        }
    }

    /// Locks the mutex if it is free and nobody is waiting.
    ///
    /// # Errors
    /// [`TryLockError`] if the lock is held or other tasks are queued for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire() {
            Ok(permit) => Ok(self.guard(permit)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    fn guard<'a>(&'a self, permit: SemaphorePermit<'a>) -> MutexGuard<'a, T> {
        MutexGuard {
            // Rule 2: the permit makes this the only borrow.
            value: self.value.borrow_mut(),
            _permit: permit,
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Future returned by [`Mutex::lock`].
#[must_use = "futures do nothing unless polled"]
pub struct MutexLock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    slot: WaitSlot,
}

impl<'a, T: ?Sized> Future for MutexLock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mutex = this.mutex;
        this.slot.poll_acquire(&mutex.sem, cx).map(|result| {
            never_closed(result);
            mutex.guard(SemaphorePermit::from_raw(&mutex.sem, 1))
        })
    }
}

impl<T: ?Sized> Drop for MutexLock<'_, T> {
    fn drop(&mut self) {
        self.slot.cancel(&self.mutex.sem);
    }
}

/// Exclusive access to the value of a [`Mutex`]; unlocks on drop.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    // Rule 3: declared before the permit, so it is dropped first.
    value: RefMut<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
