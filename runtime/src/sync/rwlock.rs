//! A FIFO, writer-preferring async reader-writer lock for tasks on one core.
//!
//! Rules:
//! 1. The lock is a [`Semaphore`] with `max_readers` permits that is never closed: a reader takes
//!    one permit, a writer takes all of them.
//! 2. The semaphore is strictly FIFO, so once a writer waits, readers that arrive later queue
//!    behind it (writers cannot starve), and the readers queued in front of a writer all get in
//!    together.
//! 3. The value lives in a `RefCell`; read guards hold a `Ref`, the write guard a `RefMut`. Rule 1
//!    makes those borrows always succeed, so the lock needs no `unsafe`. Guards drop the borrow
//!    before they release their permits (field order).

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::mutex::{never_closed, TryLockError};
use super::semaphore::{Semaphore, SemaphorePermit, WaitSlot};

/// An async reader-writer lock: many readers or one writer, served in FIFO order.
///
/// The local (single-core) counterpart of `tokio::sync::RwLock`, with the same fairness: a waiting
/// writer blocks readers that arrive after it.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::sync::RwLock;
///
/// # fn main() -> std::io::Result<()> {
/// ringbolt_runtime::Runtime::new()?.block_on(async {
///     let lock = RwLock::new(vec![1, 2]);
///     {
///         let a = lock.read().await;
///         let b = lock.read().await;
///         assert_eq!(a.len() + b.len(), 4);
///         assert!(lock.try_write().is_err());
///     }
///     lock.write().await.push(3);
///     assert_eq!(*lock.read().await, [1, 2, 3]);
/// });
/// # Ok(())
/// # }
/// ```
///
/// It stays on its core:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::sync::RwLock<u32>>();
/// ```
pub struct RwLock<T: ?Sized> {
    max_readers: u32,
    sem: Semaphore,
    value: RefCell<T>,
}

/// Default and largest number of concurrent readers.
const MAX_READS: u32 = u32::MAX >> 3;

impl<T> RwLock<T> {
    /// Creates an unlocked lock holding `value`.
    pub fn new(value: T) -> Self {
        Self::with_max_readers(value, MAX_READS)
    }

    /// Creates an unlocked lock that admits at most `max_readers` readers at a time.
    ///
    /// # Panics
    /// If `max_readers` is 0 or larger than `u32::MAX >> 3`.
    pub fn with_max_readers(value: T, max_readers: u32) -> Self {
        assert!(
            max_readers > 0 && max_readers <= MAX_READS,
            "max_readers must be in 1..={MAX_READS}"
        );
        RwLock {
            max_readers,
            sem: Semaphore::new(max_readers as usize),
            value: RefCell::new(value),
        }
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared read access.
    ///
    /// # Cancel safety
    /// Dropping the future gives up its place in the queue and passes on access it was handed.
    pub fn read(&self) -> RwLockRead<'_, T> {
        RwLockRead {
            lock: self,
            slot: WaitSlot::new(1),
        }
    }

    /// Waits for exclusive write access.
    ///
    /// # Cancel safety
    /// Dropping the future gives up its place in the queue and passes on access it was handed.
    pub fn write(&self) -> RwLockWrite<'_, T> {
        RwLockWrite {
            lock: self,
            slot: WaitSlot::new(self.max_readers),
        }
    }

    /// Takes read access if no writer holds or waits for the lock.
    ///
    /// # Errors
    /// [`TryLockError`] if a writer holds the lock or anyone is queued.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire() {
            Ok(permit) => Ok(self.read_guard(permit)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Takes write access if the lock is free and nobody is queued.
    ///
    /// # Errors
    /// [`TryLockError`] if the lock is held or anyone is queued.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire_many(self.max_readers) {
            Ok(permit) => Ok(self.write_guard(permit)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    fn read_guard<'a>(&'a self, permit: SemaphorePermit<'a>) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard {
            // Rule 3: a reader permit excludes every writer.
            value: self.value.borrow(),
            _permit: permit,
        }
    }

    fn write_guard<'a>(&'a self, permit: SemaphorePermit<'a>) -> RwLockWriteGuard<'a, T> {
        RwLockWriteGuard {
            // Rule 3: all permits exclude every other guard.
            value: self.value.borrow_mut(),
            cell: &self.value,
            _permit: permit,
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Future returned by [`RwLock::read`].
#[must_use = "futures do nothing unless polled"]
pub struct RwLockRead<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    slot: WaitSlot,
}

impl<'a, T: ?Sized> Future for RwLockRead<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this.lock;
        this.slot.poll_acquire(&lock.sem, cx).map(|result| {
            never_closed(result);
            lock.read_guard(SemaphorePermit::from_raw(&lock.sem, 1))
        })
    }
}

impl<T: ?Sized> Drop for RwLockRead<'_, T> {
    fn drop(&mut self) {
        self.slot.cancel(&self.lock.sem);
    }
}

/// Future returned by [`RwLock::write`].
#[must_use = "futures do nothing unless polled"]
pub struct RwLockWrite<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    slot: WaitSlot,
}

impl<'a, T: ?Sized> Future for RwLockWrite<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this.lock;
        this.slot.poll_acquire(&lock.sem, cx).map(|result| {
            never_closed(result);
            lock.write_guard(SemaphorePermit::from_raw(&lock.sem, lock.max_readers))
        })
    }
}

impl<T: ?Sized> Drop for RwLockWrite<'_, T> {
    fn drop(&mut self) {
        self.slot.cancel(&self.lock.sem);
    }
}

/// Shared access to the value of a [`RwLock`]; released on drop.
#[must_use = "the read lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    value: Ref<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to the value of a [`RwLock`]; released on drop.
#[must_use = "the write lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    value: RefMut<'a, T>,
    cell: &'a RefCell<T>,
    _permit: SemaphorePermit<'a>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns write access into read access without letting a writer in between.
    ///
    /// Readers queued at the front are let in at once; a queued writer keeps waiting.
    pub fn downgrade(this: Self) -> RwLockReadGuard<'a, T> {
        let RwLockWriteGuard {
            value,
            cell,
            _permit: mut permit,
        } = this;
        drop(value);
        let shared = cell.borrow();
        // Returns every permit but the reader's, which lets queued readers in.
        permit.shrink_to(1);
        RwLockReadGuard {
            value: shared,
            _permit: permit,
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
