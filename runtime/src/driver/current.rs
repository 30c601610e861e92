//! The thread's current driver, for ops and everything else that reaches the ring.
//!
//! Rule: `DRIVER` is null or comes from `Rc::as_ptr` of the `Rc<DriverCell>` that owns a live
//! driver, and it is non-null only while the runtime's enter guard is alive; that guard keeps
//! the core (and so its `Rc<DriverCell>`) alive for the whole time and restores the previous
//! pointer on drop. Nothing here knows about the runtime.

use super::home::{DriverCell, DriverHandle};
use super::op::Orphan;
use super::{Driver, Key};
use std::cell::Cell;
use std::ptr;
use std::rc::Rc;

thread_local! {
    static DRIVER: Cell<*const DriverCell> = const { Cell::new(ptr::null()) };
}

/// Installs `driver` (null, or `Rc::as_ptr` of the cell's owning `Rc`) as the thread's current
/// driver and returns the previous one. Called only by the runtime's enter guard, which keeps
/// that `Rc` alive and restores the previous value when it drops.
pub(crate) fn replace(driver: *const DriverCell) -> *const DriverCell {
    DRIVER.with(|c| c.replace(driver))
}

/// A weak handle to the current driver, for resources registered with its ring that must
/// reach it later (to unregister) or check where they are used; `None` outside a runtime.
pub(crate) fn handle() -> Option<DriverHandle> {
    let p = DRIVER.with(|c| c.get());
    if p.is_null() {
        return None;
    }
    // By the module rule, a non-null DRIVER came from `Rc::as_ptr` of an
    // `Rc<DriverCell>` the guard keeps alive, so adding a strong count and rebuilding an Rc
    // from the same pointer is sound; the Rc drops (and gives the count back) right after.
    // SAFETY: the invariants just stated hold here.
    let cell = unsafe {
        Rc::increment_strong_count(p);
        Rc::from_raw(p)
    };
    Some(DriverHandle::new(&cell))
}

/// Whether `handle` names the thread's current driver: `Some(true)` on its own driver,
/// `Some(false)` on another one, `None` outside a runtime.
#[inline]
pub(crate) fn is_current(handle: &DriverHandle) -> Option<bool> {
    let p = DRIVER.with(|c| c.get());
    (!p.is_null()).then(|| handle.names(p))
}

/// Whether a driver is current on this thread.
pub(crate) fn is_set() -> bool {
    DRIVER.with(|c| !c.get().is_null())
}

/// Runs `f` with the current core's driver.
///
/// # Panics
///
/// Panics outside a runtime: ring ops must be polled inside the runtime that owns the ring.
#[inline]
#[track_caller]
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> R {
    try_with_driver(f).expect(
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
    let p = DRIVER.with(|c| c.get());
    if p.is_null() {
        return Err(NoDriver::Outside);
    }
    // SAFETY: by the module rule, a non-null DRIVER points at a driver kept alive by the guard.
    let driver = unsafe { &*p }.cell();
    match driver.try_borrow_mut() {
        Ok(mut d) => Ok(f(&mut d)),
        Err(_) => Err(NoDriver::Busy),
    }
}

/// The fd `fd` is closed or leaves this thread outside the close op: the epoll driver forgets
/// its registration, or, when no driver can be told now, re-checks registrations later.
#[inline]
pub(crate) fn forget_fd(fd: std::os::fd::RawFd) {
    if try_with_driver(|d| d.forget_fd(fd)).is_err() {
        super::epoll::unseen_close();
    }
}

/// Hands a dropped op's state to the driver `driver_id` that holds its SQE. If that driver is
/// not the current one (the op is dropped outside its runtime) or is busy, leaks the state:
/// memory the kernel may still write is never freed.
pub(crate) fn drop_op(driver_id: u64, key: Key, orphan: Box<dyn Orphan>) {
    let p = DRIVER.with(|c| c.get());
    if p.is_null() {
        std::mem::forget(orphan);
        return;
    }
    // SAFETY: by the module rule, a non-null DRIVER points at a live driver.
    let driver = unsafe { &*p }.cell();
    let done = match driver.try_borrow_mut() {
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
    let p = DRIVER.with(|c| c.get());
    if p.is_null() {
        std::mem::forget(orphan);
        return;
    }
    // SAFETY: by the module rule, a non-null DRIVER points at a live driver.
    let driver = unsafe { &*p }.cell();
    match driver.try_borrow_mut() {
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
    let p = DRIVER.with(|c| c.get());
    if p.is_null() {
        return false;
    }
    // SAFETY: by the module rule, a non-null DRIVER points at a live driver.
    let driver = unsafe { &*p }.cell();
    match driver.try_borrow_mut() {
        Ok(mut d) => d.msg_ring(target_ring_fd, target),
        Err(_) => false,
    }
}
