//! Filling a `tokio::io::ReadBuf` straight from a non-blocking `recv` (feature `tokio-io`).

use crate::driver::SharedFd;
use std::io;
use std::os::fd::AsRawFd;

impl SharedFd {
    /// One `recv(2)` with `MSG_DONTWAIT` into the unfilled part of `buf`, without zeroing it
    /// first; advances `buf` by what arrived and returns that count.
    ///
    /// # Errors
    ///
    /// As [`recv_nonblocking`](SharedFd::recv_nonblocking): `WouldBlock` when no data is queued.
    pub fn recv_nonblocking_tokio(&self, buf: &mut tokio::io::ReadBuf<'_>) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        // SAFETY: we only hand the unfilled bytes to the kernel to write into; nothing
        // uninitialised is read, and nothing is de-initialised.
        let unfilled = unsafe { buf.unfilled_mut() };
        let (ptr, len) = (unfilled.as_mut_ptr(), unfilled.len());
        // SAFETY: `ptr..ptr+len` is writable memory borrowed from `buf` for the whole call, and
        // the fd is open while `self` lives.
        let n = super::retry(|| unsafe { libc::recv(fd, ptr.cast(), len, libc::MSG_DONTWAIT) })?;
        // SAFETY: the kernel initialised the first `n <= len` unfilled bytes.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Ok(n)
    }
}
