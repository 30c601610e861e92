//! Synchronization primitives for tasks on one core.
//!
//! These are the local counterparts of `tokio::sync` (and of `tokio_util`'s
//! `CancellationToken`), with the same method and error names. Because ringbolt's tasks never
//! leave their core, they are built from `Rc`, `Cell` and `RefCell`: no atomics, no locks, no
//! `unsafe`. These local types are all `!Send`; to talk between cores use the cross-core channels
//! in [`cross`].
//!
//! | primitive | use it to |
//! |---|---|
//! | [`Mutex`], [`RwLock`] | guard a value across `.await` points |
//! | [`Semaphore`] | limit concurrency |
//! | [`Notify`] | wake one or all waiting tasks |
//! | [`Barrier`] | make a group of tasks wait for each other |
//! | [`oneshot`] | send one value |
//! | [`mpsc`] | queue values from many senders to one receiver, bounded or not |
//! | [`broadcast`] | send every value to every receiver |
//! | [`watch`] | publish the latest value |
//! | [`CancellationToken`] | cancel a tree of tasks |
//!
//! Rules every primitive keeps:
//! 1. Waiters are served in FIFO order from a wait queue with stable keys, and a primitive wakes
//!    exactly the waiters that can make progress.
//! 2. A resource is handed directly to the waiter that gets it (lock, permit, slot,
//!    notification), so a task that arrives later cannot barge in ahead of it.
//! 3. A waiting future that is dropped removes itself from the queue. If it had already been
//!    handed a resource it never observed, it passes that on to the next waiter: nothing is lost.
//! 4. No waker is called while a primitive's state is borrowed.

// cross-core channels: see cross.rs (added separately)
pub mod cross;

mod barrier;
pub mod broadcast;
mod cancellation_token;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod rwlock;
mod semaphore;
mod wait_queue;
pub mod watch;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use cancellation_token::{CancellationToken, DropGuard, WaitForCancellationFuture};
pub use mutex::{Mutex, MutexGuard, MutexLock, TryLockError};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockRead, RwLockReadGuard, RwLockWrite, RwLockWriteGuard};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};
