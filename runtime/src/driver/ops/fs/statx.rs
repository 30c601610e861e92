use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::io;

/// `IORING_OP_STATX`: file status of an open file or of a path.
///
/// The output is the kernel's `struct statx`; check `stx_mask` for the fields it filled.
pub struct Statx {
    fd: Option<SharedFd>,
    path: CString,
    flags: i32,
    mask: u32,
    buf: libc::statx,
}

impl Statx {
    /// Status of an open file (`AT_EMPTY_PATH`), asking for the fields in `mask`
    /// (`STATX_BASIC_STATS`, `STATX_BTIME`, `STATX_DIOALIGN`, ...).
    pub fn op_fd(fd: &SharedFd, mask: u32) -> Op<Statx> {
        Op::new(Statx {
            fd: Some(fd.clone()),
            path: CString::default(),
            flags: libc::AT_EMPTY_PATH,
            mask,
            buf: zeroed_statx(),
        })
    }

    /// Status of `path` (relative to the working directory). `flags` as for `statx(2)`, e.g.
    /// `AT_SYMLINK_NOFOLLOW` to describe a symlink itself.
    pub fn op_path(path: CString, flags: i32, mask: u32) -> Op<Statx> {
        Op::new(Statx {
            fd: None,
            path,
            flags,
            mask,
            buf: zeroed_statx(),
        })
    }
}

fn zeroed_statx() -> libc::statx {
    // SAFETY: `statx` is a plain C struct of integers (and integer arrays), for which all-zero
    // bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

// SAFETY: the SQE points into `self.path` (a CString owned by the boxed op) and `self.buf` (a
// field of the boxed op); both stay at their addresses until the final CQE. The fd, if any,
// stays open because the op holds a SharedFd clone.
unsafe impl OpCode for Statx {
    type Output = io::Result<libc::statx>;
    fn build(&mut self) -> Entry {
        let dirfd = self.fd.as_ref().map_or(libc::AT_FDCWD, SharedFd::raw);
        let buf: *mut libc::statx = &mut self.buf;
        opcode::Statx::new(types::Fd(dirfd), self.path.as_ptr(), buf.cast())
            .flags(self.flags)
            .mask(self.mask)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<libc::statx> {
        cqe.result.map(|_| self.buf)
    }
}
