//! `JoinHandle` and `JoinError`, and the join table: where a handle's waker waits.
//!
//! Rules:
//! 1. A task's header has no room for a waker: a `JoinHandle` that waits for a running task
//!    puts its waker in the owner thread's join table and the index in the task's `join_slot`
//!    (plus one; rule 5 of `task`). Handles are `!Send` and tasks stay on their thread, so the
//!    handle, the task's completion and the table are all on one thread.
//! 2. The table is never borrowed while a waker runs code (`wake`, `clone`, `drop`): wakers
//!    are cloned before and woken or dropped after the borrow, so waker code may use the
//!    table again.
//! 3. Once the thread's table is gone (thread-local destruction), a handle that would wait
//!    wakes itself instead (a spurious wake, never a lost one), and taking an entry finds
//!    nothing: the table's own drop dropped the wakers.

use super::task::{Header, TaskRef, CANCELLED, COMPLETE, JOIN_INTEREST, SCHEDULED};
use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

thread_local! {
    /// The wakers of the `JoinHandle`s waiting on this thread (rule 1).
    static JOIN_WAKERS: RefCell<JoinTable> = const { RefCell::new(JoinTable::new()) };
}

/// A slab of wakers whose keys (plus one) fit the task header's `join_slot`.
struct JoinTable {
    entries: Vec<Entry>,
    /// The first vacant entry plus one; 0: none.
    free: u32,
}

enum Entry {
    Waiting(Waker),
    /// The next vacant entry plus one; 0: none.
    Vacant(u32),
}

impl JoinTable {
    const fn new() -> JoinTable {
        JoinTable {
            entries: Vec::new(),
            free: 0,
        }
    }

    /// Stores `waker`; returns its slot (key plus one), or gives it back when the table is
    /// full (`u32::MAX - 1` wakers on one thread, each from a live handle).
    #[inline]
    fn insert(&mut self, waker: Waker) -> Result<u32, Waker> {
        if self.free != 0 {
            let slot = self.free;
            let e = &mut self.entries[slot as usize - 1];
            if let Entry::Vacant(next) = *e {
                self.free = next;
            }
            *e = Entry::Waiting(waker);
            return Ok(slot);
        }
        match u32::try_from(self.entries.len() + 1) {
            Ok(slot) if slot != u32::MAX => {
                self.entries.push(Entry::Waiting(waker));
                Ok(slot)
            }
            _ => Err(waker),
        }
    }

    #[inline]
    fn get_mut(&mut self, slot: u32) -> Option<&mut Waker> {
        match self.entries.get_mut((slot as usize).wrapping_sub(1)) {
            Some(Entry::Waiting(w)) => Some(w),
            _ => None,
        }
    }

    #[inline]
    fn remove(&mut self, slot: u32) -> Option<Waker> {
        let e = self.entries.get_mut((slot as usize).wrapping_sub(1))?;
        if let Entry::Vacant(_) = e {
            return None;
        }
        match std::mem::replace(e, Entry::Vacant(self.free)) {
            Entry::Waiting(w) => {
                self.free = slot;
                Some(w)
            }
            Entry::Vacant(_) => None,
        }
    }
}

/// Makes `waker` the one woken when the task of `h` completes (rules 1, 2).
fn register(h: &Header, waker: &Waker) {
    let slot = h.join_slot.get();
    if slot == 0 {
        // The first wait: one clone, made before the table is borrowed (rule 2).
        insert(h, waker.clone(), waker);
    } else {
        replace(h, slot, waker);
    }
}

/// Stores `new` (a clone of `waker`) as the join waker of the task of `h`, which has none.
#[inline]
fn insert(h: &Header, new: Waker, waker: &Waker) {
    match JOIN_WAKERS.try_with(|t| t.borrow_mut().insert(new)) {
        Ok(Ok(slot)) => h.join_slot.set(slot),
        // The table is full or gone: the handle wakes itself instead (rule 3).
        Ok(Err(_)) | Err(_) => waker.wake_by_ref(),
    }
}

/// Polled again while waiting: keeps the stored waker if it wakes the same task, else
/// replaces it (the old one is dropped after the table's borrow, rule 2).
#[cold]
fn replace(h: &Header, slot: u32, waker: &Waker) {
    let same = JOIN_WAKERS
        .try_with(|t| {
            t.borrow_mut()
                .get_mut(slot)
                .is_some_and(|w| w.will_wake(waker))
        })
        .unwrap_or(false);
    if same {
        return;
    }
    let new = waker.clone();
    let old = JOIN_WAKERS.try_with(|t| {
        t.borrow_mut()
            .get_mut(slot)
            .map(|w| std::mem::replace(w, new))
    });
    match old {
        Ok(Some(old)) => drop(old),
        // The entry is gone with the table (rule 3).
        _ => {
            h.join_slot.set(0);
            waker.wake_by_ref();
        }
    }
}

/// Takes the waker of the handle waiting for the task of `h`, if any (rules 1, 3).
#[inline]
pub(crate) fn take_waker(h: &Header) -> Option<Waker> {
    let slot = h.join_slot.replace(0);
    if slot == 0 {
        return None;
    }
    JOIN_WAKERS
        .try_with(|t| t.borrow_mut().remove(slot))
        .ok()
        .flatten()
}

/// Why a task did not produce its output.
pub struct JoinError {
    /// `None`: cancelled. A panic payload is boxed once more so that a `JoinError` is one
    /// word: it sits in every task's stage (as `Result<T, JoinError>`), panics are rare.
    panic: Option<Box<Box<dyn Any + Send + 'static>>>,
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError { panic: None }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            panic: Some(Box::new(payload)),
        }
    }

    /// The task was aborted, or its runtime shut down before it finished.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the task was cancelled rather than panicking; see [`JoinError::try_into_panic`].
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(p) => p,
            Err(_) => panic!("JoinError::into_panic on a cancelled task"),
        }
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.panic {
            Some(p) => Ok(*p),
            None => Err(self),
        }
    }

    /// The panic message, when the payload is a string.
    pub fn panic_message(&self) -> Option<&str> {
        let p: &(dyn Any + Send) = &***self.panic.as_ref()?;
        p.downcast_ref::<&'static str>()
            .copied()
            .or_else(|| p.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.panic, self.panic_message()) {
            (None, _) => f.write_str("task was cancelled"),
            (Some(_), Some(m)) => write!(f, "task panicked: {m}"),
            (Some(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.panic {
            None => f.write_str("JoinError::Cancelled"),
            Some(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e.to_string())
    }
}

/// An owned permission to await a spawned task's output.
///
/// Awaiting it yields `Ok(output)`, or `Err(JoinError)` if the task panicked or was aborted.
/// Dropping it detaches the task, which keeps running. `!Send`, like the task.
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let rt = ringbolt_runtime::Runtime::new().unwrap();
/// rt.block_on(async { assert_send(ringbolt_runtime::spawn(async {})) });
/// ```
pub struct JoinHandle<T> {
    task: TaskRef,
    _marker: PhantomData<(T, *const ())>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: TaskRef) -> Self {
        JoinHandle {
            task,
            _marker: PhantomData,
        }
    }

    /// Asks the task to stop: its future is dropped at the executor's next turn (at once if it
    /// is waiting), which cancels the I/O it was waiting on. Awaiting the handle afterwards
    /// yields a cancelled `JoinError`, unless the task had already finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = ringbolt_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let h = ringbolt_runtime::spawn(ringbolt_runtime::time::sleep(Duration::from_secs(60)));
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abort(&self) {
        let h = self.task.header();
        let state = h.state.get();
        if state & (COMPLETE | CANCELLED) != 0 {
            return;
        }
        h.state.set(state | CANCELLED);
        // Queued unless it already is; a task aborting itself is queued too, and its next pop
        // drops the future (the executor keeps no mark of a running poll).
        if state & SCHEDULED == 0 {
            super::schedule(self.task.clone_ref());
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.header().state.get() & COMPLETE != 0
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let h = self.task.header();
        if h.state.get() & COMPLETE != 0 {
            let mut out: Option<Result<T, JoinError>> = None;
            // SAFETY: owner thread (JoinHandle is !Send); `out` has the task's output type.
            unsafe {
                self.task
                    .take_output((&mut out as *mut Option<Result<T, JoinError>>).cast())
            };
            return Poll::Ready(out.unwrap_or_else(|| Err(JoinError::cancelled())));
        }
        register(h, cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let h = self.task.header();
        let state = h.state.get();
        h.state.set(state & !JOIN_INTEREST);
        drop(h.take_join_waker());
        if state & COMPLETE != 0 {
            self.task.drop_stage();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn join_table_reuses_slots_and_keys_start_at_one() {
        let mut t = JoinTable::new();
        let a = t.insert(Waker::noop().clone()).ok().unwrap();
        let b = t.insert(Waker::noop().clone()).ok().unwrap();
        assert_eq!((a, b), (1, 2));
        assert!(t.get_mut(0).is_none());
        assert!(t.get_mut(3).is_none());
        assert!(t.remove(a).is_some());
        assert!(t.remove(a).is_none());
        assert!(t.get_mut(a).is_none());
        assert_eq!(t.insert(Waker::noop().clone()).ok(), Some(a));
        assert_eq!(t.insert(Waker::noop().clone()).ok(), Some(3));
        assert!(t.remove(b).is_some());
        assert!(t.remove(3).is_some());
        assert_eq!(t.insert(Waker::noop().clone()).ok(), Some(3));
        assert_eq!(t.insert(Waker::noop().clone()).ok(), Some(b));
    }
}
