use super::addr::PeerAddr;
use super::SockAddr;
use crate::driver::ops::direct::no_slot;
use crate::driver::ops::DirectFd;
use crate::driver::{CqeResult, MultiOp, MultishotOpCode, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// Turns an accept CQE into the new connection's fd.
fn accepted(cqe: CqeResult) -> io::Result<OwnedFd> {
    cqe.result.map(|fd| {
        // SAFETY: a successful accept returns a new fd that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(fd as i32) }
    })
}

/// `IORING_OP_ACCEPT`: accepts one connection, with the peer's address.
///
/// The new fd is close-on-exec. If the op is dropped and the kernel accepts anyway, the fd is
/// closed when the late completion arrives (the output owns it).
pub struct Accept {
    fd: SharedFd,
    addr: PeerAddr,
}

impl Accept {
    /// An accept op on the listening socket `fd`.
    pub fn op(fd: &SharedFd) -> Op<Accept> {
        Op::new(Accept {
            fd: fd.clone(),
            addr: PeerAddr::new(),
        })
    }
}

// SAFETY: the SQE points at `self.addr` and its length field, both inside the boxed op; the
// listener stays open because the op holds a SharedFd clone.
unsafe impl OpCode for Accept {
    type Output = io::Result<(OwnedFd, SockAddr)>;
    fn build(&mut self) -> Entry {
        let (addr, len) = self.addr.as_out();
        opcode::Accept::new(types::Fd(self.fd.raw()), addr, len)
            .flags(libc::SOCK_CLOEXEC)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> Self::Output {
        let fd = accepted(cqe)?;
        Ok((fd, self.addr.into_reported()))
    }
}

/// Multishot `IORING_OP_ACCEPT` (5.19+): one SQE, one CQE per accepted connection.
///
/// Items carry no peer address (ask the socket with `getpeername`). The stream ends after an
/// error CQE (for example `EMFILE`); re-arm it to go on. Connections accepted after the stream
/// was dropped are closed when their completions arrive.
pub struct AcceptMulti {
    fd: SharedFd,
}

impl AcceptMulti {
    /// A multishot accept on the listening socket `fd`.
    pub fn op(fd: &SharedFd) -> MultiOp<AcceptMulti> {
        MultiOp::new(AcceptMulti { fd: fd.clone() })
    }
}

// SAFETY: the SQE carries only the fd number; the listener stays open because the op holds a
// SharedFd clone.
unsafe impl MultishotOpCode for AcceptMulti {
    type Item = io::Result<OwnedFd>;
    fn build(&mut self) -> Entry {
        opcode::AcceptMulti::new(types::Fd(self.fd.raw()))
            .flags(libc::SOCK_CLOEXEC)
            .build()
    }
    fn next(&mut self, cqe: CqeResult) -> Self::Item {
        accepted(cqe)
    }
}

/// `IORING_OP_ACCEPT` into the ring's direct-descriptor table (Linux 5.19+): the connection
/// gets a free slot of the fixed-file table (`IORING_FILE_INDEX_ALLOC`), never an fd number.
///
/// The table must have been registered with
/// [`Builder::direct_files`](crate::Builder::direct_files). If the op is dropped and the
/// kernel accepts anyway, the slot is freed when the late completion arrives.
pub struct AcceptDirect {
    fd: SharedFd,
    addr: PeerAddr,
}

impl AcceptDirect {
    /// A direct accept on the listening socket `fd`.
    pub fn op(fd: &SharedFd) -> Op<AcceptDirect> {
        Op::new(AcceptDirect {
            fd: fd.clone(),
            addr: PeerAddr::new(),
        })
    }
}

// SAFETY: the SQE points at `self.addr` and its length field, both inside the boxed op (not
// INLINE); the listener stays open because the op holds a SharedFd clone.
unsafe impl OpCode for AcceptDirect {
    type Output = io::Result<(DirectFd, SockAddr)>;
    fn validate(&self) -> io::Result<()> {
        crate::driver::ops::direct::check_uring()
    }
    fn build(&mut self) -> Entry {
        let (addr, len) = self.addr.as_out();
        opcode::Accept::new(types::Fd(self.fd.raw()), addr, len)
            // No SOCK_CLOEXEC: the kernel refuses it with a slot (EINVAL), and a direct
            // descriptor is never in the fd table that exec would inherit.
            .file_index(Some(types::DestinationSlot::auto_target()))
            .build()
    }
    fn complete(self, cqe: CqeResult) -> Self::Output {
        match cqe.result {
            // The result is the slot the kernel picked; the DirectFd frees it when dropped.
            Ok(slot) => Ok((DirectFd::from_index(slot), self.addr.into_reported())),
            Err(e) if e.raw_os_error() == Some(libc::ENFILE) => Err(no_slot(e, "accept")),
            Err(e) => Err(e),
        }
    }
}
