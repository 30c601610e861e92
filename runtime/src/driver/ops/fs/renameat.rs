use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::io;

/// `IORING_OP_RENAMEAT` (Linux 5.11): `renameat2(2)` from one path to another, both relative to
/// the working directory.
#[derive(Debug)]
pub struct RenameAt {
    from: CString,
    to: CString,
    flags: u32,
}

impl RenameAt {
    /// A rename op; `flags` as for `renameat2(2)` (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`, or 0).
    pub fn op(from: CString, to: CString, flags: u32) -> Op<RenameAt> {
        Op::new(RenameAt { from, to, flags })
    }
}

// SAFETY: the SQE points into `self.from` and `self.to`, CStrings owned by the boxed op whose
// heap blocks do not move until the final CQE.
unsafe impl OpCode for RenameAt {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        let cwd = types::Fd(libc::AT_FDCWD);
        opcode::RenameAt::new(cwd, self.from.as_ptr(), cwd, self.to.as_ptr())
            .flags(self.flags)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
