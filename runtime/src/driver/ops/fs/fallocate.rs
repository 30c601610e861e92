use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;

/// `IORING_OP_FALLOCATE`: `fallocate(2)` on `[offset, offset + len)` with a mode
/// (0 to allocate, `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE` to punch a hole, ...).
#[derive(Debug)]
pub struct Fallocate {
    fd: SharedFd,
    offset: u64,
    len: u64,
    mode: i32,
}

impl Fallocate {
    /// A fallocate op on `fd`.
    pub fn op(fd: &SharedFd, offset: u64, len: u64, mode: i32) -> Op<Fallocate> {
        Op::new(Fallocate {
            fd: fd.clone(),
            offset,
            len,
            mode,
        })
    }
}

// SAFETY: the SQE carries only integers and the fd, kept open by the SharedFd clone.
unsafe impl OpCode for Fallocate {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        opcode::Fallocate::new(types::Fd(self.fd.raw()), self.len)
            .offset(self.offset)
            .mode(self.mode)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
