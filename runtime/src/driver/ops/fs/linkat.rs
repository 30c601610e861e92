use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::io;

/// `IORING_OP_LINKAT` (Linux 5.15): creates a hard link `to` naming the file at `from`.
#[derive(Debug)]
pub struct LinkAt {
    from: CString,
    to: CString,
    flags: i32,
}

impl LinkAt {
    /// A link op; `flags` as for `linkat(2)` (`AT_SYMLINK_FOLLOW` or 0).
    pub fn op(from: CString, to: CString, flags: i32) -> Op<LinkAt> {
        Op::new(LinkAt { from, to, flags })
    }
}

// SAFETY: the SQE points into `self.from` and `self.to`, CStrings owned by the boxed op.
unsafe impl OpCode for LinkAt {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        let cwd = types::Fd(libc::AT_FDCWD);
        opcode::LinkAt::new(cwd, self.from.as_ptr(), cwd, self.to.as_ptr())
            .flags(self.flags)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
