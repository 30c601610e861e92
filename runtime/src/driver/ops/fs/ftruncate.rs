use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;

/// `IORING_OP_FTRUNCATE` (Linux 6.9): sets the length of an open file.
///
/// Prefer [`ftruncate`], which falls back to the system call on kernels without the opcode.
#[derive(Debug)]
pub struct Ftruncate {
    fd: SharedFd,
    len: u64,
}

impl Ftruncate {
    /// An ftruncate op on `fd`. The kernel must support the opcode (see
    /// [`is_supported`](crate::is_supported)); otherwise the op fails with `EINVAL`.
    pub fn op(fd: &SharedFd, len: u64) -> Op<Ftruncate> {
        Op::new(Ftruncate {
            fd: fd.clone(),
            len,
        })
    }
}

// SAFETY: the SQE carries only the length and the fd, kept open by the SharedFd clone.
unsafe impl OpCode for Ftruncate {
    type Output = io::Result<()>;
    // INLINE: the SQE holds no pointer into the op (only fds and numbers).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        opcode::Ftruncate::new(types::Fd(self.fd.raw()), self.len).build()
    }
    fn complete(self, cqe: CqeResult) -> io::Result<()> {
        cqe.result.map(drop)
    }
}

/// Sets the length of an open file: through the ring where the kernel has
/// `IORING_OP_FTRUNCATE` (6.9+), otherwise with a direct `ftruncate(2)` call on the core (a
/// metadata update, normally short).
///
/// # Errors
///
/// `InvalidInput` if `len` exceeds `i64::MAX`; otherwise what `ftruncate(2)` reports (`EINVAL`
/// for a file not open for writing, `EFBIG`, ...).
///
/// # Panics
///
/// Panics outside a runtime.
pub async fn ftruncate(fd: &SharedFd, len: u64) -> io::Result<()> {
    let Ok(len_signed) = i64::try_from(len) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file length {len} exceeds i64::MAX"),
        ));
    };
    if crate::is_supported(opcode::Ftruncate::CODE) {
        return Ftruncate::op(fd, len).await;
    }
    // SAFETY: ftruncate takes an fd number and an integer; the fd is open (we hold a
    // SharedFd) and no memory is passed.
    let res = unsafe { libc::ftruncate(fd.raw(), len_signed) };
    if res == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
