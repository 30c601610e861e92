//! The thread's current core.
//!
//! Rule: `CURRENT` points at a live `Core` only between `enter` and the drop of its guard, and
//! the guard borrows the `Rc<Core>` that keeps the core alive for that whole time.

use crate::driver::home::DriverCell;
use crate::runtime::Core;
use crate::time::Timers;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ptr;
use std::rc::Rc;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// Restores the previous current core on drop.
pub(crate) struct EnterGuard<'a> {
    prev: *const Core,
    prev_driver: *const DriverCell,
    prev_timers: *const RefCell<Timers>,
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
    let prev = CURRENT.with(|c| c.replace(Rc::as_ptr(core)));
    // The driver and the timers live in the core, which the guard's borrow keeps alive.
    let prev_driver = crate::driver::current::replace(Rc::as_ptr(&core.driver));
    let prev_timers = crate::time::current::replace(Rc::as_ptr(&core.timers));
    EnterGuard {
        prev,
        prev_driver,
        prev_timers,
        _core: PhantomData,
    }
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
        crate::driver::current::replace(self.prev_driver);
        crate::time::current::replace(self.prev_timers);
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
