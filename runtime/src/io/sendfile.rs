//! [`sendfile`]: file → socket without copying through user memory, by `IORING_OP_SPLICE`
//! through a pipe.

use crate::ops::Splice;
use crate::SharedFd;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The pipe size `sendfile` asks for: each file → pipe → socket round moves up to this much.
/// The kernel may refuse (`/proc/sys/fs/pipe-max-size`, per-user pipe limits); the default
/// 64 KiB pipe is used then.
const PIPE_SIZE: i32 = 1 << 20;

/// Sends `len` bytes of the file `file`, starting at file offset `offset`, to the socket (or
/// pipe, or any fd `splice(2)` can write) `out`, and returns how many bytes were sent: fewer
/// than `len` only if the file ended first.
///
/// The data never enters user memory: each round splices file pages into a private pipe, then
/// the pipe into `out` (two `IORING_OP_SPLICE` ops, which the kernel runs on its io-wq worker
/// threads). The file position is not used or moved. A send to a closed peer fails with
/// `EPIPE`/`ECONNRESET` (the worker thread never raises `SIGPIPE` in the process).
///
/// `ringbolt-net` streams wrap this as `stream.sendfile(file.shared_fd(), offset, len)`.
///
/// # Errors
///
/// `pipe2(2)`'s error (`EMFILE`), `InvalidInput` if `offset + len` overflows `i64`, or the
/// splice error (`EINVAL` if `file` cannot be spliced from, e.g. a directory; `EPIPE`). Bytes
/// already spliced into the pipe when an error strikes are lost: close the connection.
///
/// # Panics
///
/// Panics outside a ringbolt runtime.
pub async fn sendfile(file: &SharedFd, offset: u64, len: u64, out: &SharedFd) -> io::Result<u64> {
    if offset
        .checked_add(len)
        .is_none_or(|end| end > i64::MAX as u64)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sendfile range {offset}+{len} exceeds i64::MAX"),
        ));
    }
    let (pipe_read, pipe_write, pipe_size) = pipe()?;
    // Two halves of the pipe in flight at once: while the socket drains what is in the pipe,
    // the next chunk of the file goes in, so the two io-wq trips of a round overlap.
    let chunk = (pipe_size / 2).max(4096) as u64;
    let mut filled = 0u64; // file bytes moved into the pipe
    let mut sent = 0u64; // bytes moved out of the pipe
    let mut eof = false;
    loop {
        let in_pipe = filled - sent;
        let fill_len = if eof || filled == len || in_pipe + chunk > pipe_size as u64 {
            0
        } else {
            (len - filled).min(chunk) as u32
        };
        if fill_len == 0 && in_pipe == 0 {
            return Ok(sent);
        }
        let fill = async {
            if fill_len == 0 {
                return Ok(None);
            }
            let off = (offset + filled) as i64;
            Splice::op(file, off, &pipe_write, -1, fill_len, 0)
                .await
                .map(Some)
        };
        let drain = async {
            if in_pipe == 0 {
                return Ok(None);
            }
            let more = if filled < len { libc::SPLICE_F_MORE } else { 0 };
            let n = Splice::op(&pipe_read, -1, out, -1, in_pipe as u32, more).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("sendfile: the output accepted no bytes after {sent} sent"),
                ));
            }
            Ok(Some(n))
        };
        let (f, d) = try_join!(fill, drain)?;
        match f {
            Some(0) => eof = true,
            Some(n) => filled += n as u64,
            None => {}
        }
        sent += d.unwrap_or(0) as u64;
    }
}

/// A close-on-exec pipe, grown to [`PIPE_SIZE`] when the kernel allows: (read, write, size).
fn pipe() -> io::Result<(SharedFd, SharedFd, usize)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the two-element array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on an fd we own; F_SETPIPE_SZ takes an int and returns the new size.
    let mut size = unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, PIPE_SIZE) };
    if size <= 0 {
        // SAFETY: as above; F_GETPIPE_SZ takes no argument.
        size = unsafe { libc::fcntl(fds[1], libc::F_GETPIPE_SZ) };
    }
    let size = if size > 0 { size as usize } else { 64 * 1024 };
    Ok((SharedFd::new(r), SharedFd::new(w), size))
}
