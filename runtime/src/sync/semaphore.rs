//! A FIFO-fair counting semaphore for tasks on one core.
//!
//! Rules:
//! 1. Permits are handed out in strict FIFO order: while anyone waits, `try_acquire` fails and a
//!    new `acquire` queues behind them, and a waiter asking for many permits blocks the ones behind
//!    it until it is served (no starvation of large requests).
//! 2. Released permits go straight to the waiters at the front of the queue (direct hand-off): the
//!    woken task owns its permits before it runs, so no other task can barge in.
//! 3. A dropped [`Acquire`] leaves the queue; if permits had already been handed to it, it releases
//!    them, which serves the next waiters. Nothing is lost.
//! 4. [`Semaphore::close`] fails every current and future acquire; permits already held stay valid.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::wait_queue::{WaitQueue, WakeList};

/// A counting semaphore whose permits are handed out in FIFO order.
///
/// This is the local (single-core) counterpart of `tokio::sync::Semaphore`: it is `!Send` and
/// `!Sync`, and uses no atomics. Share it between tasks on one core by reference or through an
/// [`Rc`].
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use ringbolt_runtime::sync::Semaphore;
///
/// # fn main() -> std::io::Result<()> {
/// ringbolt_runtime::Runtime::new()?.block_on(async {
///     let sem = Rc::new(Semaphore::new(2));
///     let a = sem.acquire().await.expect("not closed");
///     let _b = sem.try_acquire().expect("one permit left");
///     assert!(sem.try_acquire().is_err());
///     drop(a);
///     let owned = Rc::clone(&sem).acquire_owned().await.expect("not closed");
///     assert_eq!(owned.num_permits(), 1);
/// });
/// # Ok(())
/// # }
/// ```
///
/// It stays on its core:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::sync::Semaphore>();
/// ```
pub struct Semaphore {
    state: RefCell<State>,
    _not_send: PhantomData<*const ()>,
}

struct State {
    permits: usize,
    closed: bool,
    waiters: WaitQueue<Waiter>,
}

struct Waiter {
    needed: usize,
    outcome: Outcome,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Waiting,
    Granted,
    Closed,
}

impl State {
    /// Serves waiters from the front while enough permits are available (rules 1 and 2).
    fn grant(&mut self, wakers: &mut WakeList) {
        while let Some(front) = self.waiters.front() {
            if front.needed > self.permits {
                break;
            }
            self.permits -= front.needed;
            if let Some((waiter, waker)) = self.waiters.pop_front() {
                waiter.outcome = Outcome::Granted;
                wakers.push(waker);
            }
        }
    }
}

/// Error from [`Semaphore::acquire`] and friends: the semaphore was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Error from [`Semaphore::try_acquire`] and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are available right now, or other tasks are already waiting.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl Semaphore {
    /// The largest number of permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// Creates a semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    pub fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
        Semaphore {
            state: RefCell::new(State {
                permits,
                closed: false,
                waiters: WaitQueue::new(),
            }),
            _not_send: PhantomData,
        }
    }

    /// Number of permits available right now.
    pub fn available_permits(&self) -> usize {
        self.state.borrow().permits
    }

    /// Adds `n` permits, serving waiters at the front of the queue first.
    ///
    /// # Panics
    /// If the total would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        let available = self.available_permits();
        assert!(
            n <= Self::MAX_PERMITS - available,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
        self.release(n);
    }

    /// Removes up to `n` available permits and returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = self.state.borrow_mut();
        let removed = n.min(state.permits);
        state.permits -= removed;
        removed
    }

    /// Waits for one permit.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is closed, before or while waiting.
    ///
    /// # Cancel safety
    /// Dropping the future gives up its place in the queue and passes on any permit it was handed.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire::new(self, 1)
    }

    /// Waits for `n` permits, all at once.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is closed, before or while waiting.
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire::new(self, n)
    }

    /// Takes one permit if one is available and nobody is waiting.
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`] otherwise.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are available and nobody is waiting.
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`] otherwise.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Waits for one permit, returning a permit that keeps the semaphore alive.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is closed, before or while waiting.
    pub fn acquire_owned(self: Rc<Self>) -> AcquireOwned {
        AcquireOwned::new(self, 1)
    }

    /// Waits for `n` permits, returning a permit that keeps the semaphore alive.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is closed, before or while waiting.
    pub fn acquire_many_owned(self: Rc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned::new(self, n)
    }

    /// Like [`try_acquire`](Self::try_acquire), returning an owned permit.
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`] otherwise.
    pub fn try_acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Like [`try_acquire_many`](Self::try_acquire_many), returning an owned permit.
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`] otherwise.
    pub fn try_acquire_many_owned(
        self: Rc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Closes the semaphore: every waiter and every later acquire fails with an error.
    ///
    /// Permits already handed out stay valid and are returned on drop as usual.
    pub fn close(&self) {
        let mut wakers = WakeList::new();
        {
            let mut state = self.state.borrow_mut();
            state.closed = true;
            while let Some((waiter, waker)) = state.waiters.pop_front() {
                waiter.outcome = Outcome::Closed;
                wakers.push(waker);
            }
        }
        wakers.wake_all();
    }

    /// True once [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    #[inline]
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut state = self.state.borrow_mut();
        if state.closed {
            return Err(TryAcquireError::Closed);
        }
        if !state.waiters.is_empty() || state.permits < n {
            return Err(TryAcquireError::NoPermits);
        }
        state.permits -= n;
        Ok(())
    }

    /// Returns `n` permits and serves waiters (rule 2).
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        let mut state = self.state.borrow_mut();
        state.permits += n;
        if !state.waiters.is_empty() {
            drop(state);
            self.serve_waiters();
        }
    }

    /// Hands available permits to the front of the queue. Kept out of line: the fast path of
    /// `release` builds no wake list, since moving one costs more than the rest of it.
    fn serve_waiters(&self) {
        let mut wakers = WakeList::new();
        self.state.borrow_mut().grant(&mut wakers);
        wakers.wake_all();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("waiters", &state.waiters.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// One place in the wait queue, shared by [`Acquire`] and [`AcquireOwned`].
///
/// `Ready(Ok)` means the caller now owns `needed` permits. Polling again after that starts a new
/// acquisition, so a misbehaving caller can never duplicate permits.
pub(crate) struct WaitSlot {
    needed: usize,
    key: Option<usize>,
}

impl WaitSlot {
    pub(crate) fn new(needed: u32) -> Self {
        WaitSlot {
            needed: needed as usize,
            key: None,
        }
    }

    #[inline]
    pub(crate) fn poll_acquire(
        &mut self,
        sem: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if self.key.is_none() {
            // Fast path, inlined into callers: free permits and nobody queued.
            let mut state = sem.state.borrow_mut();
            if !state.closed && state.waiters.is_empty() && state.permits >= self.needed {
                state.permits -= self.needed;
                return Poll::Ready(Ok(()));
            }
        }
        self.poll_acquire_slow(sem, cx)
    }

    fn poll_acquire_slow(
        &mut self,
        sem: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let mut state = sem.state.borrow_mut();
        let Some(key) = self.key else {
            if state.closed {
                return Poll::Ready(Err(AcquireError(())));
            }
            if state.waiters.is_empty() && state.permits >= self.needed {
                state.permits -= self.needed;
                return Poll::Ready(Ok(()));
            }
            let waiter = Waiter {
                needed: self.needed,
                outcome: Outcome::Waiting,
            };
            self.key = Some(state.waiters.push_back(waiter, cx.waker().clone()));
            return Poll::Pending;
        };
        match state.waiters.get(key).outcome {
            Outcome::Waiting => {
                state.waiters.set_waker(key, cx.waker());
                Poll::Pending
            }
            Outcome::Granted => {
                state.waiters.remove(key);
                self.key = None;
                Poll::Ready(Ok(()))
            }
            Outcome::Closed => {
                state.waiters.remove(key);
                self.key = None;
                Poll::Ready(Err(AcquireError(())))
            }
        }
    }

    /// Leaves the queue, passing on permits that were handed over but never observed (rule 3).
    #[inline]
    pub(crate) fn cancel(&mut self, sem: &Semaphore) {
        if let Some(key) = self.key.take() {
            Self::cancel_queued(key, sem);
        }
    }

    fn cancel_queued(key: usize, sem: &Semaphore) {
        let mut wakers = WakeList::new();
        {
            let mut state = sem.state.borrow_mut();
            let waiter = state.waiters.remove(key);
            match waiter.outcome {
                Outcome::Granted => {
                    state.permits += waiter.needed;
                    state.grant(&mut wakers);
                }
                // It may have been the large request holding up smaller ones behind it.
                Outcome::Waiting => state.grant(&mut wakers),
                Outcome::Closed => {}
            }
        }
        wakers.wake_all();
    }
}

/// Future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    slot: WaitSlot,
}

impl<'a> Acquire<'a> {
    fn new(sem: &'a Semaphore, n: u32) -> Self {
        Acquire {
            sem,
            slot: WaitSlot::new(n),
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sem = this.sem;
        this.slot
            .poll_acquire(sem, cx)
            .map_ok(|()| SemaphorePermit {
                sem,
                permits: this.slot.needed as u32,
            })
    }
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.slot.cancel(self.sem);
    }
}

/// Future returned by [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwned {
    sem: Rc<Semaphore>,
    slot: WaitSlot,
}

impl AcquireOwned {
    fn new(sem: Rc<Semaphore>, n: u32) -> Self {
        AcquireOwned {
            sem,
            slot: WaitSlot::new(n),
        }
    }
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.slot
            .poll_acquire(&this.sem, cx)
            .map_ok(|()| OwnedSemaphorePermit {
                sem: Rc::clone(&this.sem),
                permits: this.slot.needed as u32,
            })
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        self.slot.cancel(&self.sem);
    }
}

/// Permits borrowed from a [`Semaphore`]; returned to it on drop.
#[must_use = "the permits are released as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

impl<'a> SemaphorePermit<'a> {
    /// Wraps `permits` that the caller already took from `sem`.
    pub(crate) fn from_raw(sem: &'a Semaphore, permits: u32) -> Self {
        SemaphorePermit { sem, permits }
    }

    /// Returns all but `n` of the held permits to the semaphore.
    pub(crate) fn shrink_to(&mut self, n: u32) {
        if let Some(extra) = self.permits.checked_sub(n).filter(|&extra| extra > 0) {
            self.permits = n;
            self.sem.release(extra as usize);
        }
    }

    /// Number of permits held.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// Drops the permits without returning them to the semaphore.
    #[inline]
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Moves `n` permits out into a new permit; `None` if fewer than `n` are held.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok().filter(|&n| n <= self.permits)?;
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }

    /// Absorbs the permits of `other`.
    ///
    /// # Panics
    /// If `other` comes from a different semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.permits > 0 {
            self.sem.release(self.permits as usize);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits from an [`Rc<Semaphore>`]; returned to it on drop.
#[must_use = "the permits are released as soon as this is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Rc<Semaphore>,
    permits: u32,
}

impl OwnedSemaphorePermit {
    /// Number of permits held.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Rc<Semaphore> {
        &self.sem
    }

    /// Drops the permits without returning them to the semaphore.
    #[inline]
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Moves `n` permits out into a new permit; `None` if fewer than `n` are held.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok().filter(|&n| n <= self.permits)?;
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: Rc::clone(&self.sem),
            permits: n,
        })
    }

    /// Absorbs the permits of `other`.
    ///
    /// # Panics
    /// If `other` comes from a different semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Rc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.sem.release(self.permits as usize);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
