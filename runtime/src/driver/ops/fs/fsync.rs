use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;

/// `IORING_OP_FSYNC`: `fsync(2)`, or `fdatasync(2)` semantics with `datasync`.
///
/// Completions are unordered: only writes whose completions were reaped before this op was
/// submitted are guaranteed to be covered.
#[derive(Debug)]
pub struct Fsync {
    fd: SharedFd,
    datasync: bool,
}

impl Fsync {
    /// A sync op on `fd`: data and metadata, or with `datasync` only what reading the data
    /// back needs (`fdatasync`).
    pub fn op(fd: &SharedFd, datasync: bool) -> Op<Fsync> {
        Op::new(Fsync {
            fd: fd.clone(),
            datasync,
        })
    }
}

// SAFETY: the SQE carries only the fd number, kept open by the SharedFd clone; no pointers.
unsafe impl OpCode for Fsync {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        let flags = if self.datasync {
            types::FsyncFlags::DATASYNC
        } else {
            types::FsyncFlags::empty()
        };
        opcode::Fsync::new(types::Fd(self.fd.raw()))
            .flags(flags)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
