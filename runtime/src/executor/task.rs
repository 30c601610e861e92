//! The raw task: one allocation holding a header and the future (later its output).
//!
//! Rules:
//! 1. `refs` is the only field touched from other threads (waker clone/drop/wake), together
//!    with the immutable `site` (whose `shared` is the owner core's remote-wake queue).
//!    Everything else is touched only on the owner thread.
//! 2. The future and the output are dropped only on the owner thread: by the executor when the
//!    task completes or is cancelled, by the `JoinHandle`, or by runtime shutdown. So when the
//!    last reference goes away on another thread, the stage is consumed and only memory is freed.
//! 3. A task is in the run queue at most once (`SCHEDULED`), and never after `COMPLETE`.
//! 4. The stage is a union without a tag of its own: the `STAGE_*` bits of `state` say which
//!    of its fields holds a value (the future, the output, the error, or none). They change
//!    only together with the union, on the owner thread, and a running future is dropped where
//!    it lies (it is pinned). The vtable's `poll` does not look at them: the executor polls a
//!    task only when its state has no [`NOT_POLLABLE`] bit (no stage bit, so the future).
//! 5. A `JoinHandle` waiting for a running task keeps its waker in the owner thread's join
//!    table (see `join`), at index `join_slot - 1`; `join_slot` is 0 when there is none. Only
//!    the handle puts one there; the task's completion or the handle's drop takes it out, so
//!    an entry never outlives the handle (nor, therefore, the task).
//!
//! What a task costs: a four-word header (refs and registry key, vtable, site, state and join
//! slot) and the stage, as large as the largest of the future, its output and a `JoinError`
//! (one word), in one allocation; plus one word in its core's registry.

use super::join::{self, JoinError};
use super::remote::Shared;
use super::site::Site;
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

pub(crate) const SCHEDULED: u8 = 1;
pub(crate) const COMPLETE: u8 = 4;
pub(crate) const CANCELLED: u8 = 8;
pub(crate) const JOIN_INTEREST: u8 = 16;
/// Which field of the stage holds a value (rule 4); zero (the future) for a new task.
const STAGE_MASK: u8 = 0b0110_0000;
const STAGE_FUTURE: u8 = 0;
const STAGE_OUTPUT: u8 = 0b0010_0000;
const STAGE_ERROR: u8 = 0b0100_0000;
const STAGE_CONSUMED: u8 = 0b0110_0000;
/// A task whose state has none of these bits holds its future and may be polled
/// ([`TaskRef::poll`]); the executor tests them all at once.
pub(crate) const NOT_POLLABLE: u8 = COMPLETE | CANCELLED | STAGE_MASK;

pub(crate) struct Header {
    refs: AtomicU32,
    /// The task's key in its core's registry (owner thread only).
    pub(crate) registry_key: Cell<u32>,
    vtable: &'static Vtable,
    /// The owner core's remote-wake queue and the spawn location (immutable; rule 1).
    site: Arc<Site>,
    pub(crate) state: Cell<u8>,
    /// The join waker's index in the owner thread's join table, plus one; 0: none (rule 5).
    pub(crate) join_slot: Cell<u32>,
}

impl Header {
    /// The owner core's remote-wake queue (any thread).
    #[inline]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.site.shared
    }

    /// Where the task was spawned (`#[track_caller]`), for stall reports and tracing.
    #[inline]
    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.site.location
    }

    /// Takes the waker of a `JoinHandle` waiting for this task (owner thread).
    #[inline]
    pub(crate) fn take_join_waker(&self) -> Option<Waker> {
        join::take_waker(self)
    }
}

struct Vtable {
    /// Polls the future (the stage must hold it); true when the task finished (output stored
    /// or dropped).
    poll: unsafe fn(NonNull<Header>) -> bool,
    /// Drops the future and records `JoinError::Cancelled` (when a JoinHandle wants it).
    cancel: unsafe fn(NonNull<Header>),
    /// Moves the finished output into `*mut Option<Result<T, JoinError>>`.
    take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drops whatever the stage holds.
    drop_stage: unsafe fn(NonNull<Header>),
    /// Frees the allocation.
    dealloc: unsafe fn(NonNull<Header>),
}

/// The future, then its output or the error, then nothing: which one the header's stage bits
/// say (rule 4). No tag of its own, so a task is its header plus its future.
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<F::Output>,
    error: ManuallyDrop<JoinError>,
}

/// The task's one allocation. The stage is reached only through [`stage`] and the vtable
/// functions, on the owner thread (rules 1, 2), one access at a time, and read only as the
/// field its stage bits name (rule 4).
#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// One counted reference to a task.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: another thread only touches `refs` (atomic) and `site` (an immutable `Arc<Site>`,
// which is `Send + Sync`), and by rule 2 the last reference dropped there frees memory whose
// stage is consumed (and drops that `Arc`).
unsafe impl Send for TaskRef {}

impl TaskRef {
    /// Allocates a task with `refs` references, state `state` (no stage bits: it holds the
    /// future), spawned at `site`.
    pub(crate) fn new<F: Future + 'static>(
        future: F,
        site: Arc<Site>,
        refs: u32,
        state: u8,
    ) -> TaskRef {
        debug_assert_eq!(state & STAGE_MASK, STAGE_FUTURE);
        let cell = Box::new(TaskCell {
            header: Header {
                refs: AtomicU32::new(refs),
                registry_key: Cell::new(u32::MAX),
                vtable: vtable::<F>(),
                site,
                state: Cell::new(state & !STAGE_MASK),
                join_slot: Cell::new(0),
            },
            stage: UnsafeCell::new(Stage {
                future: ManuallyDrop::new(future),
            }),
        });
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        TaskRef(ptr)
    }

    /// Takes over one reference already counted for `ptr`.
    ///
    /// # Safety
    ///
    /// - `ptr` must come from a live task whose count includes a reference the caller owns.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> TaskRef {
        TaskRef(ptr)
    }

    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.0
    }

    /// Gives up this handle without dropping its reference: the caller now owns it and hands
    /// it back with [`from_raw`](Self::from_raw).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        std::mem::ManuallyDrop::new(self).0
    }

    /// The header. Owner thread only for the non-atomic fields.
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the reference keeps the allocation alive; fields with interior mutability
        // are only touched on the owner thread (rule 1).
        unsafe { self.0.as_ref() }
    }

    /// Adds a reference.
    pub(crate) fn clone_ref(&self) -> TaskRef {
        add_ref(&self.header().refs);
        TaskRef(self.0)
    }

    /// Polls the task (owner thread). True when it finished.
    ///
    /// # Safety
    ///
    /// - The state has no [`NOT_POLLABLE`] bit: the stage holds the future (rule 4).
    #[inline]
    pub(crate) unsafe fn poll(&self) -> bool {
        debug_assert_eq!(self.header().state.get() & NOT_POLLABLE, 0);
        // SAFETY: the executor calls this on the owner thread while holding a reference, and
        // the caller guarantees that the stage holds the future.
        unsafe { (self.header().vtable.poll)(self.0) }
    }

    /// Drops the future and records cancellation (owner thread).
    pub(crate) fn cancel(&self) {
        // SAFETY: as for poll.
        unsafe { (self.header().vtable.cancel)(self.0) }
    }

    /// Drops the stage (owner thread).
    pub(crate) fn drop_stage(&self) {
        // SAFETY: as for poll.
        unsafe { (self.header().vtable.drop_stage)(self.0) }
    }

    /// Moves the output into `dst`, a `*mut Option<Result<T, JoinError>>` for this task's T.
    ///
    /// # Safety
    ///
    /// - Owner thread; `dst` must point to an `Option<Result<T, JoinError>>` with `T` the
    ///   task's output type.
    pub(crate) unsafe fn take_output(&self, dst: *mut ()) {
        // SAFETY: forwarded to the caller.
        unsafe { (self.header().vtable.take_output)(self.0, dst) }
    }
}

/// A task with one reference and an empty future, for the executor's unit tests.
#[cfg(test)]
pub(crate) fn test_task(shared: &Arc<Shared>) -> TaskRef {
    TaskRef::new(
        async {},
        super::site::Site::new(shared.clone(), std::panic::Location::caller()),
        1,
        0,
    )
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: the reference keeps the allocation alive; only the atomic field is touched.
        let refs = unsafe { &(*self.0.as_ptr()).refs };
        if refs.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            // SAFETY: this was the last reference: nobody else can reach the task. `vtable` is
            // immutable and 'static.
            unsafe {
                let dealloc = (*self.0.as_ptr()).vtable.dealloc;
                dealloc(self.0)
            };
        }
    }
}

fn vtable<F: Future + 'static>() -> &'static Vtable {
    &Vtable {
        poll: poll::<F>,
        cancel: cancel::<F>,
        take_output: take_output::<F>,
        drop_stage: drop_stage::<F>,
        dealloc: dealloc::<F>,
    }
}

/// The stage of the task at `ptr`.
///
/// # Safety
///
/// - Owner thread; `ptr` is a live `TaskCell<F>`, and no other reference to its stage is in use.
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
    // SAFETY: the header is the first field of the repr(C) TaskCell<F>; the stage is only
    // accessed on the owner thread, one access at a time (the executor does not re-enter).
    unsafe { &mut *ptr.cast::<TaskCell<F>>().as_ref().stage.get() }
}

/// The header of a live task.
///
/// # Safety
///
/// - `ptr` is a live task (the caller holds a reference); the non-atomic fields are then
///   used on the owner thread only (rule 1).
unsafe fn header<'a>(ptr: NonNull<Header>) -> &'a Header {
    // SAFETY: forwarded from the caller.
    unsafe { ptr.as_ref() }
}

impl Header {
    fn stage_bits(&self) -> u8 {
        self.state.get() & STAGE_MASK
    }

    fn set_stage_bits(&self, bits: u8) {
        self.state.set((self.state.get() & !STAGE_MASK) | bits);
    }

    fn wants_output(&self) -> bool {
        self.state.get() & JOIN_INTEREST != 0
    }
}

/// Drops a value, catching a panic from its destructor.
fn drop_quietly<T>(v: T) -> Option<Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(move || drop(v))).err()
}

/// Drops what the stage holds where it lies (a running future is pinned: it must not move
/// before its destructor runs) and marks it consumed first, so that nothing reached from that
/// destructor sees a half-dropped value; catches a panic from the destructor.
///
/// # Safety
///
/// - As for [`stage`].
unsafe fn clear_stage<F: Future>(ptr: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: forwarded from the caller.
    let h = unsafe { header(ptr) };
    let bits = h.stage_bits();
    if bits == STAGE_CONSUMED {
        return None;
    }
    h.set_stage_bits(STAGE_CONSUMED);
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    match bits {
        STAGE_FUTURE if std::mem::needs_drop::<F>() => catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the stage bits named the future (rule 4); they now say consumed, so it
            // is dropped once.
            unsafe { ManuallyDrop::drop(&mut stage.future) }
        }))
        .err(),
        STAGE_OUTPUT if std::mem::needs_drop::<F::Output>() => {
            catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: as above, for the output.
                unsafe { ManuallyDrop::drop(&mut stage.output) }
            }))
            .err()
        }
        STAGE_ERROR => catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: as above, for the error.
            unsafe { ManuallyDrop::drop(&mut stage.error) }
        }))
        .err(),
        _ => None,
    }
}

/// Stores the task's result in a consumed stage (owner thread).
///
/// # Safety
///
/// - As for [`stage`]; the stage is consumed (it holds nothing that would leak).
unsafe fn store_result<F: Future>(ptr: NonNull<Header>, result: Result<F::Output, JoinError>) {
    // SAFETY: forwarded from the caller.
    let h = unsafe { header(ptr) };
    debug_assert_eq!(h.stage_bits(), STAGE_CONSUMED);
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    match result {
        Ok(v) => {
            stage.output = ManuallyDrop::new(v);
            h.set_stage_bits(STAGE_OUTPUT);
        }
        Err(e) => {
            stage.error = ManuallyDrop::new(e);
            h.set_stage_bits(STAGE_ERROR);
        }
    }
}

/// The vtable's `poll`: only the pending case is inline, so the common call saves few
/// registers; a finished future goes to [`finish`]. The output goes there from inside the
/// `catch_unwind` closure, which returns only whether the task finished: a pending poll moves
/// no `Poll<F::Output>` through a `Result` (a copy of the whole output slot on every poll).
///
/// # Safety
///
/// - Owner thread, live task (the caller holds a reference), and the stage bits say the stage
///   holds the future (`TaskRef::poll`).
unsafe fn poll<F: Future + 'static>(ptr: NonNull<Header>) -> bool {
    // SAFETY: owner thread, live task; the caller guarantees the stage holds the future.
    let fut = unsafe { &mut *stage::<F>(ptr).future };
    // SAFETY: the task holds a reference for the duration of the poll.
    let waker = ManuallyDrop::new(unsafe {
        Waker::from_raw(RawWaker::new(ptr.as_ptr().cast(), &WAKER_VTABLE))
    });
    let mut cx = Context::from_waker(&waker);
    // SAFETY: the future lives inside the heap task and is never moved out: it is dropped in
    // place (`clear_stage`).
    let fut = unsafe { Pin::new_unchecked(fut) };
    let polled = catch_unwind(AssertUnwindSafe(|| match fut.poll(&mut cx) {
        Poll::Pending => false,
        Poll::Ready(v) => {
            // `finish` does not unwind (it catches the drops' panics), so an `Err` below
            // always comes from the future's poll, before the stage changed.
            // SAFETY: forwarded from the caller; `fut` was consumed by its poll, so no
            // reference to the stage is in use.
            unsafe { finish::<F>(ptr, Ok(v)) };
            true
        }
    }));
    match polled {
        Ok(done) => done,
        Err(payload) => {
            // SAFETY: forwarded from the caller; the borrow of the future ended with the
            // unwind.
            unsafe { finish::<F>(ptr, Err(payload)) };
            true
        }
    }
}

/// The future finished (`Ok`) or panicked (`Err`): drops it and keeps the result for the
/// `JoinHandle`, or drops the result when nobody wants it. Never unwinds (a panicking drop of
/// the future or of an unwanted result is caught), so `poll` may call it inside its
/// `catch_unwind`.
///
/// # Safety
///
/// - Owner thread, live task, and no reference to the stage is in use.
#[inline(never)]
unsafe fn finish<F: Future + 'static>(
    ptr: NonNull<Header>,
    result: Result<F::Output, Box<dyn Any + Send>>,
) {
    let result = result.map_err(JoinError::panic);
    // SAFETY: forwarded from the caller.
    let h = unsafe { header(ptr) };
    // A panicking destructor of the finished future is swallowed: the output already exists.
    // SAFETY: owner thread, live task; the poll's borrow of the future ended before the call.
    let _ = unsafe { clear_stage::<F>(ptr) };
    if h.wants_output() {
        // SAFETY: owner thread; the stage was just cleared.
        unsafe { store_result::<F>(ptr, result) };
    } else {
        let _ = drop_quietly(result);
    }
}

unsafe fn cancel<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let h = unsafe { header(ptr) };
    if h.stage_bits() != STAGE_FUTURE {
        return;
    }
    // SAFETY: forwarded from the caller.
    let panic = unsafe { clear_stage::<F>(ptr) };
    if h.wants_output() {
        let e = match panic {
            Some(p) => JoinError::panic(p),
            None => JoinError::cancelled(),
        };
        // SAFETY: owner thread; the stage was just cleared.
        unsafe { store_result::<F>(ptr, Err(e)) };
    }
}

unsafe fn take_output<F: Future + 'static>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: forwarded from the caller.
    let h = unsafe { header(ptr) };
    let bits = h.stage_bits();
    if bits == STAGE_FUTURE {
        // Never move a running (pinned) future; there is no output yet.
        return;
    }
    h.set_stage_bits(STAGE_CONSUMED);
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    let out = match bits {
        // SAFETY: the bits said the output is there; they now say consumed, so it is moved
        // out once.
        STAGE_OUTPUT => Ok(unsafe { ManuallyDrop::take(&mut stage.output) }),
        // SAFETY: as above, for the error.
        STAGE_ERROR => Err(unsafe { ManuallyDrop::take(&mut stage.error) }),
        _ => Err(JoinError::cancelled()),
    };
    // SAFETY: the caller passes a pointer to Option<Result<F::Output, JoinError>>.
    unsafe { *dst.cast::<Option<Result<F::Output, JoinError>>>() = Some(out) };
}

unsafe fn drop_stage<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let _ = unsafe { clear_stage::<F>(ptr) };
}

unsafe fn dealloc<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: the last reference, so no other thread touches the header; the acquire fence
    // before this call orders the owner thread's writes of `state` before these reads.
    let h = unsafe { header(ptr) };
    debug_assert_eq!(h.join_slot.get(), 0, "a join waker outlived its handle");
    // By rule 2 the stage is consumed unless we are on the owner thread, so no F code runs
    // elsewhere.
    if h.stage_bits() != STAGE_CONSUMED {
        // SAFETY: the last reference: nobody else reaches the stage.
        let _ = unsafe { clear_stage::<F>(ptr) };
    }
    // SAFETY: last reference; the allocation came from Box<TaskCell<F>>. The stage's fields
    // are `ManuallyDrop` (consumed above); the header drops its site.
    drop(unsafe { Box::from_raw(ptr.cast::<TaskCell<F>>().as_ptr()) });
}

impl TaskRef {
    /// This reference as the task's waker (the waker owns the reference: it is not counted
    /// again).
    #[inline]
    pub(crate) fn into_waker(self) -> Waker {
        let ptr = self.into_raw();
        // The waker takes over the reference `self` owned (`into_raw` gave it up), and a
        // waker with this vtable releases exactly one reference when dropped or woken.
        // SAFETY: as just said; `ptr` is a live task's header.
        unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr().cast(), &WAKER_VTABLE)) }
    }
}

/// The task a waker wakes, when it is a task's waker: its reference moves to the returned
/// `TaskRef` (the waker is consumed without a wake). Any other waker comes back untouched.
#[inline]
pub(crate) fn waker_into_task(waker: Waker) -> Result<TaskRef, Waker> {
    if !std::ptr::eq(waker.vtable(), &WAKER_VTABLE) {
        return Err(waker);
    }
    let waker = ManuallyDrop::new(waker);
    let ptr = waker.data().cast_mut().cast::<Header>();
    // A waker with this vtable was made by `poll` or `waker_clone` from a live task's header
    // pointer (never null) and owns one reference, which the `TaskRef` takes over; the waker
    // itself is forgotten, so that reference is released once.
    // SAFETY: as just said.
    Ok(unsafe { TaskRef::from_raw(NonNull::new_unchecked(ptr)) })
}

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// Adds a reference; aborts long before the 32-bit count could wrap (leaked wakers).
#[inline]
fn add_ref(refs: &AtomicU32) {
    if refs.fetch_add(1, Ordering::Relaxed) > i32::MAX as u32 {
        std::process::abort();
    }
}

unsafe fn waker_clone(p: *const ()) -> RawWaker {
    // SAFETY: a waker exists, so the task is alive; only the atomic is touched.
    let refs = unsafe { &(*p.cast::<Header>()).refs };
    add_ref(refs);
    RawWaker::new(p, &WAKER_VTABLE)
}

unsafe fn waker_wake(p: *const ()) {
    // SAFETY: the waker owned one reference, which the TaskRef takes over.
    let task = unsafe { TaskRef::from_raw(NonNull::new_unchecked(p.cast_mut().cast())) };
    super::schedule(task);
}

unsafe fn waker_wake_by_ref(p: *const ()) {
    // SAFETY: the waker keeps the task alive; we add a reference for the run queue.
    let refs = unsafe { &(*p.cast::<Header>()).refs };
    add_ref(refs);
    // SAFETY: the reference just added is owned by this TaskRef.
    let task = unsafe { TaskRef::from_raw(NonNull::new_unchecked(p.cast_mut().cast())) };
    super::schedule(task);
}

unsafe fn waker_drop(p: *const ()) {
    // SAFETY: the waker owned one reference.
    drop(unsafe { TaskRef::from_raw(NonNull::new_unchecked(p.cast_mut().cast())) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_four_words_and_stage_has_no_tag() {
        assert_eq!(std::mem::size_of::<Header>(), 32);
        // A zero-sized future with a `()` output: the stage is one word (a JoinError), so
        // the allocation is 40 bytes, a 48-byte chunk with glibc's malloc.
        assert_eq!(
            std::mem::size_of::<TaskCell<std::future::Pending<()>>>(),
            40
        );
        // A future of 64 bytes: the stage is the future.
        assert_eq!(
            std::mem::size_of::<TaskCell<std::future::Ready<[u64; 8]>>>(),
            32 + 72
        );
    }
}
