use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::io;

/// `IORING_OP_MKDIRAT` (Linux 5.15): creates a directory with a mode (before the umask).
#[derive(Debug)]
pub struct MkDirAt {
    path: CString,
    mode: u32,
}

impl MkDirAt {
    /// A mkdir op.
    pub fn op(path: CString, mode: u32) -> Op<MkDirAt> {
        Op::new(MkDirAt { path, mode })
    }
}

// SAFETY: the SQE points into `self.path`, a CString owned by the boxed op.
unsafe impl OpCode for MkDirAt {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::MkDirAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .mode(self.mode)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
