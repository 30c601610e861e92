//! Direct descriptors: files that live only in the ring's fixed-file table, named by slot.
//!
//! An op naming a direct descriptor skips the kernel's per-op `fdget`/`fdput` on the process
//! file table (and its reference counting when the process has several threads); an accept or
//! open that creates one never touches the process fd table at all.
//!
//! Rules:
//! 1. The table is registered sparse when the runtime starts, with
//!    [`Builder::direct_files`](crate::Builder::direct_files) slots (none by default). Direct
//!    accepts and opens let the kernel pick a free slot (`IORING_FILE_INDEX_ALLOC`).
//! 2. A [`DirectFd`] names one slot of one ring's table. Every op naming it holds a clone, so
//!    the slot is freed only after the last such op's final CQE: a slot the kernel hands out
//!    again is never named by an op meant for the old file.
//! 3. The slot is freed exactly once: by [`DirectFd::close`] (`IORING_OP_CLOSE` on the fixed
//!    index, after every other holder is gone) or by the drop of the last holder
//!    (`IORING_REGISTER_FILES_UPDATE` with `-1`, one synchronous call; at the next turn if the
//!    driver is busy; nothing once the runtime is gone, whose ring took the table with it).
//! 4. A `DirectFd` is `!Send`, and ops refuse it (`InvalidInput`) on any ring but its own.

use crate::driver::current;
use crate::driver::home::DriverHandle;
use crate::driver::{CqeResult, Driver, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, squeue::Flags, types};
use std::cell::Cell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::marker::PhantomData;
use std::rc::Rc;
use std::task::{Poll, Waker};

pub(crate) mod sealed {
    use std::io;

    /// How an op names its file in the SQE; implemented by [`SharedFd`](crate::SharedFd) and
    /// [`DirectFd`](super::DirectFd) only.
    pub trait Sealed {
        /// Whether the number is a fixed-table slot (`IOSQE_FIXED_FILE`).
        const FIXED: bool;
        /// The fd number or slot index for the SQE's `fd` field.
        fn sqe_fd(&self) -> i32;
        /// Whether an op naming this file may be submitted on the current ring.
        fn check_ring(&self) -> io::Result<()>;
    }
}

/// A file an op can name: a regular fd ([`SharedFd`]) or a direct descriptor ([`DirectFd`]).
///
/// The socket ops (`Recv`, `Send`, `SendZc`, `Shutdown`) are generic over it; with a
/// `SharedFd` the choice costs nothing at run time.
pub trait RingFd: sealed::Sealed + Clone + fmt::Debug + 'static {}

impl RingFd for SharedFd {}
impl RingFd for DirectFd {}

impl sealed::Sealed for SharedFd {
    const FIXED: bool = false;
    #[inline]
    fn sqe_fd(&self) -> i32 {
        self.raw()
    }
    #[inline]
    fn check_ring(&self) -> io::Result<()> {
        Ok(())
    }
}

impl sealed::Sealed for DirectFd {
    const FIXED: bool = true;
    #[inline]
    fn sqe_fd(&self) -> i32 {
        self.inner.index as i32
    }
    fn check_ring(&self) -> io::Result<()> {
        match current::is_current(&self.inner.driver) {
            Some(true) => Ok(()),
            Some(false) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "this direct descriptor belongs to another ringbolt runtime's io_uring (a fixed-\
                 table slot means nothing on another ring)",
            )),
            None => Err(io::Error::other(
                "ringbolt I/O must be polled inside a ringbolt runtime",
            )),
        }
    }
}

/// Marks `entry` as naming a fixed-table slot when `F` is a direct descriptor (the SQE's `fd`
/// field came from [`sealed::Sealed::sqe_fd`]).
#[inline]
pub(crate) fn target<F: RingFd>(entry: Entry) -> Entry {
    if F::FIXED {
        entry.flags(Flags::FIXED_FILE)
    } else {
        entry
    }
}

/// Registers a sparse direct-descriptor table of `slots` entries on a new ring (rule 1).
pub(crate) fn register_table(driver: &Driver, slots: u32) -> io::Result<()> {
    driver
        .submitter("a direct-descriptor table (Builder::direct_files)")?
        .register_files_sparse(slots)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "registering a direct-descriptor table of {slots} slots failed ({e}): sparse \
                 tables need Linux 5.19 (IORING_RSRC_REGISTER_SPARSE), and the size must not \
                 exceed RLIMIT_NOFILE; use Builder::direct_files(0) to do without"
                ),
            )
        })
}

/// Direct descriptors live in an io_uring's fixed-file table: on the epoll driver, an
/// `Unsupported` error that says so.
pub(crate) fn check_uring() -> io::Result<()> {
    match current::try_with_driver(|d| d.kind()) {
        Ok(crate::DriverKind::Epoll) => Err(crate::driver::setup::needs_uring(
            "a direct descriptor (accept_direct, open_direct; Builder::direct_files)",
        )),
        _ => Ok(()),
    }
}

/// The error of a direct accept or open that found no free slot (`ENFILE`): names the setting.
#[cold]
pub(crate) fn no_slot(e: io::Error, what: &str) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "direct {what}: no free slot in this ring's direct-descriptor table (ENFILE); \
             Builder::direct_files sets its size (0, the default, means no table)"
        ),
    )
}

struct Inner {
    index: u32,
    /// The driver whose ring's table holds the slot.
    driver: DriverHandle,
    /// Set once the slot was handed to a close op: the drop must not free it again.
    closed: Cell<bool>,
    /// The task waiting in `close()` for the other holders to go.
    closer: Cell<Option<Waker>>,
    /// A `close()` is under way; a second one just lets go of its handle.
    closing: Cell<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.closed.get() {
            return;
        }
        let index = self.index;
        // Rule 3: the last holder is gone, so no op names the slot any more.
        self.driver.run(Box::new(move |d| {
            if let Ok(s) = d.submitter("direct descriptors") {
                let _ = s.register_files_update(index, &[-1]);
            }
        }));
    }
}

/// A direct descriptor: a socket or file held in a slot of the current core's io_uring
/// fixed-file table instead of the process fd table.
///
/// Made by direct accepts ([`AcceptDirect`](crate::ops::net::AcceptDirect)) and opens
/// ([`OpenAtDirect`](crate::ops::fs::OpenAtDirect)), in the table that
/// [`Builder::direct_files`](crate::Builder::direct_files) sizes. The socket ops generic over
/// [`RingFd`] (`Recv`, `Send`, `SendZc`, `Shutdown` in [`crate::ops::net`]) take it as they
/// take a [`SharedFd`]. There is no fd number, so `setsockopt`, `getpeername` and other plain
/// syscalls cannot reach it.
///
/// Every op naming it holds a clone; the slot is freed once, after the last holder is gone:
/// by [`close`](DirectFd::close) (`IORING_OP_CLOSE` on the slot) or by the drop of the last
/// clone (`IORING_REGISTER_FILES_UPDATE` with `-1`). Ops refuse it on any other runtime's ring
/// (`InvalidInput`).
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::DirectFd>();
/// ```
#[derive(Clone)]
pub struct DirectFd {
    inner: Rc<Inner>,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for DirectFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirectFd").field(&self.inner.index).finish()
    }
}

impl DirectFd {
    /// Takes ownership of slot `index` of the current core's table (just filled by the kernel).
    pub(crate) fn from_index(index: u32) -> DirectFd {
        DirectFd {
            inner: Rc::new(Inner {
                index,
                driver: current::handle().unwrap_or_default(),
                closed: Cell::new(false),
                closer: Cell::new(None),
                closing: Cell::new(false),
            }),
            _not_send: PhantomData,
        }
    }

    /// The slot in the ring's fixed-file table.
    pub fn index(&self) -> u32 {
        self.inner.index
    }

    /// Closes the file with `IORING_OP_CLOSE` on its slot once every other holder (in-flight
    /// ops, other handles) has gone, freeing the slot, and reports the result.
    ///
    /// # Errors
    ///
    /// The kernel's error for the close, or `InvalidInput` when called on another runtime.
    pub async fn close(self) -> io::Result<()> {
        if self.inner.closing.replace(true) {
            // Another handle is closing the slot already; it waits for this one to go.
            return Ok(());
        }
        poll_fn(|cx| {
            if Rc::strong_count(&self.inner) == 1 {
                Poll::Ready(())
            } else {
                self.inner.closer.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await;
        sealed::Sealed::check_ring(&self)?;
        self.inner.closed.set(true);
        Op::new(CloseDirect {
            index: self.inner.index,
            owner: Some(self),
        })
        .await
    }
}

impl Drop for DirectFd {
    fn drop(&mut self) {
        // The holder waiting in close() keeps one reference; wake it when it is the last.
        if Rc::strong_count(&self.inner) == 2 {
            if let Some(w) = self.inner.closer.take() {
                w.wake();
            }
        }
    }
}

/// `IORING_OP_CLOSE` of a fixed-table slot (Linux 5.15+), made by [`DirectFd::close`].
struct CloseDirect {
    index: u32,
    /// The last handle, marked closed: kept so that a close that never reached the kernel
    /// can still free the slot (by clearing `closed` and dropping it).
    owner: Option<DirectFd>,
}

// SAFETY: the SQE carries only a slot index, no pointers.
unsafe impl OpCode for CloseDirect {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer.
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        opcode::Close::new(types::Fixed(self.index)).build()
    }
    fn complete(mut self, cqe: CqeResult) -> io::Result<()> {
        if let Some(owner) = self.owner.take() {
            let cancelled =
                matches!(&cqe.result, Err(e) if e.raw_os_error() == Some(libc::ECANCELED));
            if !cqe.reached_kernel() || cancelled {
                // Nothing was closed (never submitted, or cancelled before it ran because the
                // future was dropped): let the drop free the slot instead.
                owner.inner.closed.set(false);
            }
        }
        cqe.result.map(drop)
    }
}
