use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::io;

/// `IORING_OP_UNLINKAT` (Linux 5.11): removes a file, or with `AT_REMOVEDIR` an empty directory.
#[derive(Debug)]
pub struct UnlinkAt {
    path: CString,
    flags: i32,
}

impl UnlinkAt {
    /// An unlink op; `flags` is 0 for a file or `AT_REMOVEDIR` for a directory.
    pub fn op(path: CString, flags: i32) -> Op<UnlinkAt> {
        Op::new(UnlinkAt { path, flags })
    }
}

// SAFETY: the SQE points into `self.path`, a CString owned by the boxed op.
unsafe impl OpCode for UnlinkAt {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
