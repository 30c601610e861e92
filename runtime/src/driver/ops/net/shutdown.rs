use crate::driver::ops::direct::{target, RingFd};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;
use std::net::Shutdown as How;

/// `IORING_OP_SHUTDOWN`: shuts down the read side, the write side or both of a socket
/// (a [`SharedFd`] or a [`DirectFd`](crate::DirectFd)).
pub struct Shutdown<F = SharedFd> {
    fd: F,
    how: i32,
}

impl<F: RingFd> Shutdown<F> {
    /// A shutdown op on `fd`.
    pub fn op(fd: &F, how: How) -> Op<Shutdown<F>> {
        let how = match how {
            How::Read => libc::SHUT_RD,
            How::Write => libc::SHUT_WR,
            How::Both => libc::SHUT_RDWR,
        };
        Op::new(Shutdown {
            fd: fd.clone(),
            how,
        })
    }
}

// SAFETY: the SQE carries only the fd number (or slot) and a constant; the socket stays open
// because the op holds a clone of its handle.
unsafe impl<F: RingFd> OpCode for Shutdown<F> {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn validate(&self) -> io::Result<()> {
        self.fd.check_ring()
    }
    fn build(&mut self) -> Entry {
        target::<F>(opcode::Shutdown::new(types::Fd(self.fd.sqe_fd()), self.how).build())
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
