use crate::driver::{CqeResult, OpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};

/// `IORING_OP_CLOSE`. Owns the fd until the kernel took it; if the op is dropped before it was
/// submitted, the fd is closed by the drop.
#[derive(Debug)]
pub struct Close {
    fd: Option<OwnedFd>,
}

impl Close {
    /// A close op for an fd nobody else uses any more.
    pub fn new(fd: OwnedFd) -> Close {
        Close { fd: Some(fd) }
    }
}

// SAFETY: the SQE carries only the fd number, no pointers.
unsafe impl OpCode for Close {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        let fd = self.fd.as_ref().map_or(-1, |f| f.as_raw_fd());
        opcode::Close::new(types::Fd(fd)).build()
    }
    fn complete(mut self, cqe: CqeResult) -> io::Result<()> {
        if !cqe.reached_kernel() {
            // The SQE never reached the kernel: drop the OwnedFd, a plain close(2).
            drop(self.fd.take());
            return Ok(());
        }
        // The kernel released the fd number whatever the result (close(2) semantics on
        // Linux, EBADF aside, where there was nothing to release), so it must not be closed
        // again: the number may already belong to someone else.
        if let Some(fd) = self.fd.take() {
            let _ = fd.into_raw_fd();
        }
        cqe.result.map(drop)
    }
}
