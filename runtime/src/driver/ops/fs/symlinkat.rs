use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::io;

/// `IORING_OP_SYMLINKAT` (Linux 5.15): creates a symlink at `link` whose content is `target`.
#[derive(Debug)]
pub struct SymlinkAt {
    target: CString,
    link: CString,
}

impl SymlinkAt {
    /// A symlink op. `target` is stored as given; it need not exist.
    pub fn op(target: CString, link: CString) -> Op<SymlinkAt> {
        Op::new(SymlinkAt { target, link })
    }
}

// SAFETY: the SQE points into `self.target` and `self.link`, CStrings owned by the boxed op.
unsafe impl OpCode for SymlinkAt {
    type Output = io::Result<()>;
    fn build(&mut self) -> Entry {
        opcode::SymlinkAt::new(
            types::Fd(libc::AT_FDCWD),
            self.target.as_ptr(),
            self.link.as_ptr(),
        )
        .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}
