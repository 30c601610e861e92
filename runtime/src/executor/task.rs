//! The raw task: one allocation holding a header and the future (later its output).
//!
//! Rules:
//! 1. `refs` is the only field touched from other threads (waker clone/drop/wake), together
//!    with the immutable `shared` pointer. Everything else is touched only on the owner thread.
//! 2. The future and the output are dropped only on the owner thread: by the executor when the
//!    task completes or is cancelled, by the `JoinHandle`, or by runtime shutdown. So when the
//!    last reference goes away on another thread, the stage is `Consumed` and only memory is freed.
//! 3. A task is in the run queue at most once (`SCHEDULED`), and never after `COMPLETE`.

use super::join::JoinError;
use super::remote::Shared;
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
pub(crate) const RUNNING: u8 = 2;
pub(crate) const COMPLETE: u8 = 4;
pub(crate) const CANCELLED: u8 = 8;
pub(crate) const JOIN_INTEREST: u8 = 16;

pub(crate) struct Header {
    refs: AtomicU32,
    /// The task's key in its core's registry (owner thread only).
    pub(crate) registry_key: Cell<u32>,
    vtable: &'static Vtable,
    pub(crate) shared: Arc<Shared>,
    pub(crate) join_waker: Cell<Option<Waker>>,
    /// Where the task was spawned (`#[track_caller]`), for stall reports and tracing.
    pub(crate) location: &'static Location<'static>,
    pub(crate) state: Cell<u8>,
}

struct Vtable {
    /// Polls the future; true when the task finished (output stored or dropped).
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

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// One counted reference to a task.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: another thread only touches `refs` (atomic) and `shared` (an Arc, immutable here),
// and by rule 2 the last reference dropped there frees memory whose stage is `Consumed`.
unsafe impl Send for TaskRef {}

impl TaskRef {
    /// Allocates a task with `refs` references, state `state`.
    pub(crate) fn new<F: Future + 'static>(
        future: F,
        shared: Arc<Shared>,
        refs: u32,
        state: u8,
        location: &'static Location<'static>,
    ) -> TaskRef {
        let cell = Box::new(TaskCell {
            header: Header {
                refs: AtomicU32::new(refs),
                registry_key: Cell::new(u32::MAX),
                vtable: vtable::<F>(),
                shared,
                join_waker: Cell::new(None),
                location,
                state: Cell::new(state),
            },
            stage: UnsafeCell::new(Stage::Running(future)),
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
    pub(crate) fn poll(&self) -> bool {
        // SAFETY: called by the executor on the owner thread while holding a reference.
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

/// # Safety
/// Owner thread; `ptr` is a live `TaskCell<F>`.
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
    // SAFETY: the header is the first field of the repr(C) TaskCell<F>; the stage is only
    // accessed on the owner thread, one access at a time (the executor does not re-enter).
    unsafe { &mut *ptr.cast::<TaskCell<F>>().as_ref().stage.get() }
}

fn wants_output(ptr: NonNull<Header>) -> bool {
    // SAFETY: owner thread, live task.
    unsafe { ptr.as_ref() }.state.get() & JOIN_INTEREST != 0
}

/// Drops a value, catching a panic from its destructor.
fn drop_quietly<T>(v: T) -> Option<Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(move || drop(v))).err()
}

/// Drops the stage where it lies (a running future is pinned: it must not move before its
/// destructor runs) and leaves `Consumed`; catches a panic from the destructor.
fn clear_stage<F: Future>(stage: &mut Stage<F>) -> Option<Box<dyn Any + Send>> {
    let p: *mut Stage<F> = stage;
    // SAFETY: `p` is valid and initialised; after drop_in_place (even one that unwinds part
    // way) the value is never used again before `ptr::write` re-initialises the place.
    let panic = catch_unwind(AssertUnwindSafe(|| unsafe { std::ptr::drop_in_place(p) })).err();
    // SAFETY: `p` is valid for writes; the old value was dropped (or abandoned) above, so
    // overwriting it without dropping is correct.
    unsafe { std::ptr::write(p, Stage::Consumed) };
    panic
}

unsafe fn poll<F: Future + 'static>(ptr: NonNull<Header>) -> bool {
    // SAFETY: forwarded from the caller (executor on the owner thread, live task).
    let stage = unsafe { stage::<F>(ptr) };
    let Stage::Running(fut) = stage else {
        return true;
    };
    // SAFETY: the task holds a reference for the duration of the poll.
    let waker = ManuallyDrop::new(unsafe {
        Waker::from_raw(RawWaker::new(ptr.as_ptr().cast(), &WAKER_VTABLE))
    });
    let mut cx = Context::from_waker(&waker);
    // SAFETY: the future lives inside the heap task and is never moved out while Running.
    let fut = unsafe { Pin::new_unchecked(fut) };
    let result = match catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx))) {
        Ok(Poll::Pending) => return false,
        Ok(Poll::Ready(v)) => Ok(v),
        Err(payload) => Err(JoinError::panic(payload)),
    };
    // A panicking destructor of the finished future is swallowed: the output already exists.
    let _ = clear_stage(stage);
    if wants_output(ptr) {
        *stage = Stage::Finished(result);
    } else {
        let _ = drop_quietly(result);
    }
    true
}

unsafe fn cancel<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    if !matches!(stage, Stage::Running(_)) {
        return;
    }
    let panic = clear_stage(stage);
    if wants_output(ptr) {
        *stage = Stage::Finished(Err(match panic {
            Some(p) => JoinError::panic(p),
            None => JoinError::cancelled(),
        }));
    }
}

unsafe fn take_output<F: Future + 'static>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    if let Stage::Running(_) = stage {
        // Never move a running (pinned) future; there is no output yet.
        return;
    }
    let out = match std::mem::replace(stage, Stage::Consumed) {
        Stage::Finished(r) => r,
        _ => Err(JoinError::cancelled()),
    };
    // SAFETY: the caller passes a pointer to Option<Result<F::Output, JoinError>>.
    unsafe { *dst.cast::<Option<Result<F::Output, JoinError>>>() = Some(out) };
}

unsafe fn drop_stage<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    let _ = clear_stage(stage);
}

unsafe fn dealloc<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: last reference; the allocation came from Box<TaskCell<F>>. By rule 2 the stage
    // is Consumed unless we are on the owner thread, so no F code runs elsewhere.
    drop(unsafe { Box::from_raw(ptr.cast::<TaskCell<F>>().as_ptr()) });
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
