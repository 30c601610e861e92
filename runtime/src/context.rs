//! The thread's current core.
//!
//! Rule: `CURRENT` points at a live `Core` only between `enter` and the drop of its guard, and
//! the guard borrows the `Rc<Core>` that keeps the core alive for that whole time.

use crate::driver::op::Orphan;
use crate::driver::{Driver, Key};
use crate::runtime::Core;
use crate::time::Timers;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::rc::Rc;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// Restores the previous current core on drop.
pub(crate) struct EnterGuard<'a> {
    prev: *const Core,
    _core: PhantomData<&'a Core>,
}

/// Makes `core` the thread's current core, for `block_on`.
///
/// # Panics
///
/// Panics if a runtime (this one or another) is already running on this thread: a nested
/// `block_on` would poll tasks from inside a task's poll.
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard<'_> {
    let prev = CURRENT.with(|c| c.get());
    assert!(
        prev.is_null(),
        "cannot call block_on from inside a ringbolt runtime on the same thread (use spawn, or \
         move the blocking work to task::spawn_blocking)"
    );
    switch(core)
}

/// Makes `core` current until the guard drops, whatever was current before (restored then).
/// For work that runs synchronously to its end and polls no task: runtime shutdown.
pub(crate) fn switch(core: &Rc<Core>) -> EnterGuard<'_> {
    let prev = CURRENT.with(|c| c.get());
    CURRENT.with(|c| c.set(Rc::as_ptr(core)));
    EnterGuard {
        prev,
        _core: PhantomData,
    }
}

/// A weak handle to the current core, for resources that must reach their ring later (to
/// unregister buffers) even outside `block_on`; see [`with_ring_of`].
pub(crate) fn current_weak() -> Option<std::rc::Weak<Core>> {
    current_rc().map(|c| Rc::downgrade(&c))
}

/// Runs `f` with the driver of `core` if that runtime is still alive: now if its driver is
/// free, else at its next turn. Nothing happens once the runtime is gone (its ring closed).
pub(crate) fn with_ring_of(core: &std::rc::Weak<Core>, f: crate::runtime::DriverJob) {
    if let Some(core) = core.upgrade() {
        match core.driver.try_borrow() {
            Ok(d) => f(&d),
            Err(_) => core.deferred.borrow_mut().push(f),
        }
    }
}

fn current_rc() -> Option<Rc<Core>> {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null CURRENT came from `Rc::as_ptr` of an Rc the guard keeps alive, so
    // adding a strong count and rebuilding an Rc from the same pointer is sound.
    unsafe {
        Rc::increment_strong_count(p);
        Some(Rc::from_raw(p))
    }
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// Runs `f` with the current core, if any.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: by the module rule, a non-null CURRENT points at a core kept alive by the guard.
    Some(f(unsafe { &*p }))
}

/// Runs `f(core, value)` with the current core, or `or(value)` outside a runtime.
#[inline]
pub(crate) fn with_core_or<T, R>(
    value: T,
    f: impl FnOnce(&Core, T) -> R,
    or: impl FnOnce(T) -> R,
) -> R {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return or(value);
    }
    // SAFETY: by the module rule, a non-null CURRENT points at a core kept alive by the guard.
    f(unsafe { &*p }, value)
}

/// Whether this thread is inside a ringbolt runtime.
pub(crate) fn is_inside() -> bool {
    CURRENT.with(|c| !c.get().is_null())
}

/// Runs `f` with the current core's driver.
///
/// # Panics
///
/// Panics outside a runtime: ring ops must be polled inside the runtime that owns the ring.
#[inline]
#[track_caller]
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> R {
    with_core(|core| f(&mut core.driver.borrow_mut())).expect(
        "ringbolt I/O must be polled inside a ringbolt runtime (Runtime::block_on or a spawned task)",
    )
}

/// Why the current thread's driver could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoDriver {
    /// No ringbolt runtime is current on this thread.
    Outside,
    /// The driver is already borrowed further up the stack.
    Busy,
}

impl NoDriver {
    /// The message of the panic an in-flight op raises when polled where its driver is not.
    #[cold]
    pub(crate) fn in_flight_message(self) -> &'static str {
        match self {
            NoDriver::Outside => {
                "ringbolt I/O polled outside its runtime (an op in flight was polled with no \
                 ringbolt runtime current); its buffers stay with the kernel and are leaked"
            }
            NoDriver::Busy => "ringbolt I/O polled while the driver was busy (re-entrant poll)",
        }
    }
}

/// Runs `f` with the current core's driver, or says why there is none. Never panics, so a
/// caller holding op state can keep it where the driver finds it (pitfall 14).
#[inline]
pub(crate) fn try_with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> Result<R, NoDriver> {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return Err(NoDriver::Outside);
    }
    // SAFETY: by the module rule, a non-null CURRENT points at a core kept alive by the guard.
    let core = unsafe { &*p };
    match core.driver.try_borrow_mut() {
        Ok(mut d) => Ok(f(&mut d)),
        Err(_) => Err(NoDriver::Busy),
    }
}

/// Hands a dropped op's state to the driver `driver_id` that holds its SQE. If that driver is
/// not the current one (the op is dropped outside its runtime) or is busy, leaks the state:
/// memory the kernel may still write is never freed.
pub(crate) fn drop_op(driver_id: u64, key: Key, orphan: Box<dyn Orphan>) {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        std::mem::forget(orphan);
        return;
    }
    // SAFETY: by the module rule, a non-null CURRENT points at a live core.
    let core = unsafe { &*p };
    let done = match core.driver.try_borrow_mut() {
        Ok(mut d) if d.id == driver_id => d.drop_op(key, orphan),
        _ => {
            std::mem::forget(orphan);
            None
        }
    };
    if let Some((orphan, cqe)) = done {
        orphan.finish(cqe);
    }
}

/// As [`drop_op`], for a multishot stream.
pub(crate) fn drop_stream(driver_id: u64, key: Key, orphan: Box<dyn Orphan>) {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        std::mem::forget(orphan);
        return;
    }
    // SAFETY: by the module rule, a non-null CURRENT points at a live core.
    let core = unsafe { &*p };
    match core.driver.try_borrow_mut() {
        Ok(mut d) if d.id == driver_id => d.drop_stream(key, orphan),
        _ => std::mem::forget(orphan),
    }
}

/// Rings another core's io_uring with `MSG_RING` from this thread's ring, if this thread runs
/// a ringbolt core whose kernel has the opcode, and submits it at once (remote.rs rule 4).
/// The caller holds `target`'s queue lock, so `target_ring_fd` is open (remote.rs rule 5).
pub(crate) fn msg_ring_wake(
    target_ring_fd: i32,
    target: &std::sync::Arc<crate::executor::remote::Shared>,
) -> bool {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return false;
    }
    // SAFETY: by the module rule, a non-null CURRENT points at a live core.
    let core = unsafe { &*p };
    match core.driver.try_borrow_mut() {
        Ok(mut d) => d.msg_ring(target_ring_fd, target),
        Err(_) => false,
    }
}

/// Runs `f` with the current core's timers.
///
/// # Panics
///
/// Panics outside a runtime.
#[track_caller]
pub(crate) fn with_timers<R>(f: impl FnOnce(&mut Timers) -> R) -> R {
    with_core(|core| f(&mut core.timers.borrow_mut()))
        .expect("ringbolt timers must be used inside a ringbolt runtime")
}

/// Runs `f` with the current core's timers; `None` outside a runtime or while they are busy.
pub(crate) fn try_with_timers<R>(f: impl FnOnce(&mut Timers) -> R) -> Option<R> {
    with_core(|core| core.timers.try_borrow_mut().ok().map(|mut t| f(&mut t))).flatten()
}
