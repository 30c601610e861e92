use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;
use std::net::Shutdown as How;

/// `IORING_OP_SHUTDOWN`: shuts down the read side, the write side or both of a socket.
pub struct Shutdown {
    fd: SharedFd,
    how: i32,
}

impl Shutdown {
    /// A shutdown op on `fd`.
    pub fn op(fd: &SharedFd, how: How) -> Op<Shutdown> {
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

// SAFETY: the SQE carries only the fd number and a constant; the socket stays open because the
// op holds a SharedFd clone.
unsafe impl OpCode for Shutdown {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        opcode::Shutdown::new(types::Fd(self.fd.raw()), self.how).build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
