//! The thread's current timer wheel.
//!
//! Rule: `TIMERS` points at a live wheel only while the runtime's enter guard is alive; the
//! guard installs it (from `Rc::as_ptr` of the core's `Rc<RefCell<Timers>>`), keeps the core
//! owning it alive, and restores the previous pointer on drop. Nothing here knows about the
//! runtime.

use super::Timers;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::rc::{Rc, Weak};

thread_local! {
    static TIMERS: Cell<*const RefCell<Timers>> = const { Cell::new(ptr::null()) };
}

/// Installs `timers` as the thread's current wheel and returns the previous one (the enter
/// guard restores it).
pub(crate) fn replace(timers: *const RefCell<Timers>) -> *const RefCell<Timers> {
    TIMERS.with(|c| c.replace(timers))
}

/// A weak handle to the current wheel, for a timer that must leave the wheel it was
/// registered in even when dropped under another runtime; `None` outside a runtime.
pub(crate) fn home() -> Option<Weak<RefCell<Timers>>> {
    let p = TIMERS.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // By the module rule, a non-null TIMERS came from `Rc::as_ptr` of the core's
    // `Rc<RefCell<Timers>>`, which the guard keeps alive: adding a strong count and rebuilding
    // an Rc from the same pointer is sound, and the Rc gives the count back when it drops here.
    // SAFETY: the invariants just stated hold here.
    let timers = unsafe {
        Rc::increment_strong_count(p);
        Rc::from_raw(p)
    };
    Some(Rc::downgrade(&timers))
}

/// Runs `f` with the current core's timers.
///
/// # Panics
///
/// Panics outside a runtime.
#[track_caller]
pub(crate) fn with_timers<R>(f: impl FnOnce(&mut Timers) -> R) -> R {
    try_with_timers(f).expect("ringbolt timers must be used inside a ringbolt runtime")
}

/// Runs `f` with the current core's timers; `None` outside a runtime or while they are busy.
pub(crate) fn try_with_timers<R>(f: impl FnOnce(&mut Timers) -> R) -> Option<R> {
    let p = TIMERS.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: by the module rule, a non-null TIMERS points at timers kept alive by the guard.
    let timers = unsafe { &*p };
    timers.try_borrow_mut().ok().map(|mut t| f(&mut t))
}
