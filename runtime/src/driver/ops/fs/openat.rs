use crate::driver::ops::direct::no_slot;
use crate::driver::ops::DirectFd;
use crate::driver::{CqeResult, Op, OpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// `IORING_OP_OPENAT`: opens `path` (relative to the working directory) with `open(2)` flags
/// and a creation mode. `O_CLOEXEC` is always added.
///
/// If the future is dropped after submission and the kernel opens the file anyway, the fd is
/// closed when the late completion arrives.
#[derive(Debug)]
pub struct OpenAt {
    path: CString,
    flags: i32,
    mode: u32,
}

impl OpenAt {
    /// An open op: `flags` as for `open(2)` (`O_RDONLY`, `O_CREAT`, ...), `mode` for a created
    /// file (before the umask).
    pub fn op(path: CString, flags: i32, mode: u32) -> Op<OpenAt> {
        Op::new(OpenAt { path, flags, mode })
    }
}

// SAFETY: the SQE's only pointer is into `self.path`, a CString whose heap block is owned by the
// boxed op and does not move until the final CQE.
unsafe impl OpCode for OpenAt {
    type Output = io::Result<OwnedFd>;
    fn build(&mut self) -> Entry {
        opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags | libc::O_CLOEXEC)
            .mode(self.mode)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<OwnedFd> {
        cqe.result.map(|fd| {
            // SAFETY: a non-negative openat result is a new fd that nobody else owns.
            unsafe { OwnedFd::from_raw_fd(fd as i32) }
        })
    }
}

/// `IORING_OP_OPENAT` into the ring's direct-descriptor table (Linux 5.15+; with a free slot
/// picked by the kernel, 5.19+): the file gets a slot of the fixed-file table
/// (`IORING_FILE_INDEX_ALLOC`), never an fd number.
///
/// The table must have been registered with
/// [`Builder::direct_files`](crate::Builder::direct_files). `O_CLOEXEC` is not added (the
/// kernel refuses it with a slot, and a slot is never inherited by `exec`). If the future is
/// dropped and the kernel opens the file anyway, the slot is freed when the late completion
/// arrives.
#[derive(Debug)]
pub struct OpenAtDirect {
    path: CString,
    flags: i32,
    mode: u32,
}

impl OpenAtDirect {
    /// A direct open op: `flags` as for `open(2)` (without `O_CLOEXEC`), `mode` for a created
    /// file (before the umask).
    pub fn op(path: CString, flags: i32, mode: u32) -> Op<OpenAtDirect> {
        Op::new(OpenAtDirect {
            path,
            flags: flags & !libc::O_CLOEXEC,
            mode,
        })
    }
}

// SAFETY: the SQE's only pointer is into `self.path`, a CString whose heap block is owned by the
// boxed op and does not move until the final CQE.
unsafe impl OpCode for OpenAtDirect {
    type Output = io::Result<DirectFd>;
    fn validate(&self) -> io::Result<()> {
        crate::driver::ops::direct::check_uring()
    }
    fn build(&mut self) -> Entry {
        opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .file_index(Some(types::DestinationSlot::auto_target()))
            .flags(self.flags)
            .mode(self.mode)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<DirectFd> {
        match cqe.result {
            // The result is the slot the kernel picked; the DirectFd frees it when dropped.
            Ok(slot) => Ok(DirectFd::from_index(slot)),
            Err(e) if e.raw_os_error() == Some(libc::ENFILE) => Err(no_slot(e, "open")),
            Err(e) => Err(e),
        }
    }
}
