//! `IORING_OP_POLL_ADD`: readiness of an fd, reported by the core's own ring.
//!
//! The building block of readiness-style I/O ([`crate::readiness`]): wait until a socket is
//! readable or writable, then do a non-blocking syscall straight into the caller's buffer. No
//! epoll fd, no second event loop, no thread.

use crate::driver::{CqeResult, MultiOp, MultishotOpCode, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;

/// Single-shot `IORING_OP_POLL_ADD`: completes once `fd` is ready for any event in `mask`
/// (`libc::POLLIN`, `libc::POLLOUT`, ...), with the returned events (`revents`).
///
/// Level-triggered at submission: if the fd is ready already, the op completes at once.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::ops::PollAdd;
/// use ringbolt_runtime::SharedFd;
/// use std::os::fd::OwnedFd;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
///     let fd = SharedFd::new(OwnedFd::from(a));
///     // An empty socket is writable at once.
///     let revents = PollAdd::op(&fd, libc::POLLOUT as u32).await?;
///     assert!(revents & libc::POLLOUT as u32 != 0);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct PollAdd {
    fd: SharedFd,
    mask: u32,
}

impl PollAdd {
    /// Waits once until `fd` is ready for an event in `mask`.
    pub fn op(fd: &SharedFd, mask: u32) -> Op<PollAdd> {
        Op::new(PollAdd {
            fd: fd.clone(),
            mask,
        })
    }
}

// SAFETY: a POLL_ADD SQE carries only the fd number and the event mask; the fd stays open
// because the op holds a SharedFd clone until its final CQE.
unsafe impl OpCode for PollAdd {
    type Output = io::Result<u32>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        opcode::PollAdd::new(types::Fd(self.fd.raw()), self.mask).build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<u32> {
        cqe.result
    }
}

/// Multishot `IORING_OP_POLL_ADD` (5.13+): one SQE, one CQE each time `fd` signals an event in
/// `mask`.
///
/// Edge-like: the kernel posts when the fd's wait queue is woken (data arrived, buffer space
/// freed), plus once at submission if the fd is ready already. Readiness that was not consumed
/// is **not** reported again, so after an event the caller must do its non-blocking syscall
/// until it sees `EAGAIN` (or a short read, see [`crate::readiness`]) before waiting again.
///
/// The stream ends (a CQE without `IORING_CQE_F_MORE`) on error, on cancellation, or when the
/// kernel could not post a CQE (completion queue overflow); re-arm to go on. Items are the
/// returned events or the error.
#[derive(Debug)]
pub struct PollMulti {
    fd: SharedFd,
    mask: u32,
}

impl PollMulti {
    /// A multishot poll on `fd` for the events in `mask`.
    pub fn op(fd: &SharedFd, mask: u32) -> MultiOp<PollMulti> {
        MultiOp::new(PollMulti {
            fd: fd.clone(),
            mask,
        })
    }
}

// SAFETY: a POLL_ADD SQE carries only the fd number and the event mask; the fd stays open
// because the op holds a SharedFd clone until its final CQE.
unsafe impl MultishotOpCode for PollMulti {
    type Item = io::Result<u32>;
    fn build(&mut self) -> Entry {
        opcode::PollAdd::new(types::Fd(self.fd.raw()), self.mask)
            .multi(true)
            .build()
    }
    fn next(&mut self, cqe: CqeResult) -> io::Result<u32> {
        cqe.result
    }
}
