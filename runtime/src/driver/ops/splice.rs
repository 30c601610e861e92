use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;

/// `IORING_OP_SPLICE`: moves up to `len` bytes between two fds without copying them through
/// user memory, as `splice(2)`; one of the two must be a pipe.
///
/// An offset of `-1` means "the fd's current position" and is required for pipes and sockets;
/// a file offset reads or writes there without moving the file position. The result is the
/// number of bytes moved (possibly short; `0` at end of input). The kernel always runs splice
/// on an io-wq worker thread. See [`io::sendfile`](crate::io::sendfile) for file → socket.
pub struct Splice {
    fd_in: SharedFd,
    off_in: i64,
    fd_out: SharedFd,
    off_out: i64,
    len: u32,
    flags: u32,
}

impl Splice {
    /// A splice of up to `len` bytes from `fd_in` at `off_in` to `fd_out` at `off_out`, with
    /// `splice(2)` flags (`SPLICE_F_MOVE`, `SPLICE_F_MORE`, ...; `SPLICE_F_NONBLOCK` is not
    /// useful here).
    pub fn op(
        fd_in: &SharedFd,
        off_in: i64,
        fd_out: &SharedFd,
        off_out: i64,
        len: u32,
        flags: u32,
    ) -> Op<Splice> {
        Op::new(Splice {
            fd_in: fd_in.clone(),
            off_in,
            fd_out: fd_out.clone(),
            off_out,
            len,
            flags,
        })
    }
}

// SAFETY: the SQE carries only fd numbers, offsets and a length, no pointers; both fds stay open
// until the final CQE because the op holds SharedFd clones of them.
unsafe impl OpCode for Splice {
    type Output = io::Result<usize>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        opcode::Splice::new(
            types::Fd(self.fd_in.raw()),
            self.off_in,
            types::Fd(self.fd_out.raw()),
            self.off_out,
            self.len,
        )
        .flags(self.flags)
        .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<usize> {
        cqe.result.map(|n| n as usize)
    }
}
