//! [`File`]: an open file whose every operation is one io_uring op on the current core.

use crate::direct::{DirectAlignment, DEFAULT_ALIGN};
use crate::metadata::{Metadata, STATX_MASK};
use crate::open_options::OpenOptions;
use ringbolt_runtime::buf::aligned::AlignedBuf;
use ringbolt_runtime::buf::fixed::FixedIoBuf;
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut, MAX_RW_COUNT};
use ringbolt_runtime::ops::fs::{ftruncate, Fallocate, Fsync, ReadFixed, Statx, WriteFixed};
use ringbolt_runtime::ops::{Read, Readv, Write, Writev};
use ringbolt_runtime::SharedFd;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

/// An open file on the current core's ring.
///
/// All I/O is positional (`pread`/`pwrite` style) with owned buffers: each call takes a buffer
/// and returns it with the result. Methods take `&self`, so one file serves many concurrent
/// operations (share it with `Rc` between tasks on the same core).
///
/// Dropping a `File` closes it once its in-flight operations have completed; [`File::close`]
/// does that through the ring and reports errors. `File` is `!Send`.
///
/// # Examples
///
/// ```
/// use ringbolt_fs::File;
/// # ringbolt_runtime::Runtime::new()?.block_on(async {
/// let f = File::open("/proc/self/stat").await?;
/// let (res, buf) = f.read_at(Vec::with_capacity(64), 0).await;
/// assert!(res? > 0);
/// assert!(!buf.is_empty());
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A `File` belongs to its core's ring and cannot move to another thread:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_fs::File>();
/// ```
pub struct File {
    fd: SharedFd,
    direct: Option<DirectAlignment>,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("fd", &self.fd.raw())
            .field("direct", &self.direct)
            .finish()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl From<std::fs::File> for File {
    /// Adopts a std file (not checked for `O_DIRECT`: open direct files with
    /// [`OpenOptions::direct`] to get alignment checks).
    fn from(f: std::fs::File) -> File {
        File::from_parts(SharedFd::new(OwnedFd::from(f)), None)
    }
}

/// Validates a file position: the kernel takes a signed offset, and `u64::MAX` would mean
/// "current position" to the read and write ops.
#[inline]
fn check_pos(pos: u64) -> io::Result<()> {
    if pos > i64::MAX as u64 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file offset {pos} exceeds i64::MAX"),
        ));
    }
    Ok(())
}

/// Where a looping transfer resumes after `done` bytes: `done` rounded down to `step` (a
/// power of two), so a direct transfer stays aligned after a short, unaligned count.
fn resume_at(done: usize, step: usize) -> usize {
    done - done % step
}

impl File {
    pub(crate) fn from_parts(fd: SharedFd, direct: Option<DirectAlignment>) -> File {
        File { fd, direct }
    }

    /// Opens a file read-only.
    ///
    /// # Errors
    ///
    /// What `openat(2)` reports (`NotFound`, `PermissionDenied`, ...).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file write-only, creating it or truncating it to length 0.
    ///
    /// # Errors
    ///
    /// What `openat(2)` reports.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file read-write, failing with `AlreadyExists` if it exists.
    ///
    /// # Errors
    ///
    /// `AlreadyExists`, or what `openat(2)` reports.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// A fresh [`OpenOptions`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// The alignments this file's direct I/O needs, if it was opened with `O_DIRECT`.
    pub fn direct_alignment(&self) -> Option<DirectAlignment> {
        self.direct
    }

    /// A zeroed buffer of `capacity` bytes aligned for this file's direct I/O (at least 4096).
    /// For direct transfers, keep lengths a multiple of
    /// [`DirectAlignment::offset`] too.
    ///
    /// # Panics
    ///
    /// As [`AlignedBuf::new`]: if `capacity` is too large for any allocation, or (through the
    /// allocation error handler) if memory runs out, as `Vec::with_capacity` does.
    pub fn alloc_aligned(&self, capacity: usize) -> AlignedBuf {
        let align = self
            .direct
            .map_or(DEFAULT_ALIGN, |a| a.memory().max(DEFAULT_ALIGN));
        AlignedBuf::new(capacity, align)
    }

    /// Whether [`read_at`](Self::read_at) (and the reads built on it) first tries the read
    /// at once with `preadv2(RWF_NOWAIT)`, which never blocks, and goes to the ring only when
    /// it would block: the page-cache fast path.
    ///
    /// On by default, adaptively (a file whose reads keep missing the page cache skips the
    /// attempts for a while); never on a direct (`O_DIRECT`) file, whatever is asked here.
    /// Writes always go to the ring. Turn it off to keep every read on the ring. See
    /// `docs/fast_path.md`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringbolt_fs::File;
    /// # ringbolt_runtime::Runtime::new()?.block_on(async {
    /// let f = File::open("/proc/self/stat").await?;
    /// f.set_inline_io(false); // every read through the ring
    /// let (res, _buf) = f.read_at(Vec::with_capacity(64), 0).await;
    /// assert!(res? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_inline_io(&self, enabled: bool) {
        self.fd
            .set_inline_io(enabled && self.direct.is_none(), false);
    }

    /// The shared fd, for building other ring ops on this file.
    pub fn shared_fd(&self) -> &SharedFd {
        &self.fd
    }

    /// Checks one transfer's position, and its alignment on a direct file. The common case
    /// (a valid position on a buffered file) is one branch, and nothing is called in it.
    #[inline]
    fn check(&self, addr: *const u8, len: usize, pos: u64) -> io::Result<()> {
        if pos <= i64::MAX as u64 && self.direct.is_none() {
            return Ok(());
        }
        self.check_slow(addr, len, pos)
    }

    /// The rest of [`check`](Self::check), out of line: a position past `i64::MAX`, or a
    /// direct file's alignment.
    #[cold]
    #[inline(never)]
    fn check_slow(&self, addr: *const u8, len: usize, pos: u64) -> io::Result<()> {
        check_pos(pos)?;
        match self.direct {
            Some(a) => a.check(addr as usize, len.min(MAX_RW_COUNT), pos),
            None => Ok(()),
        }
    }

    /// Reads into `buf` from its start, up to its capacity, at file offset `pos`; returns the
    /// number of bytes read. One `IORING_OP_READ`: the result may be short, and `Ok(0)` from a
    /// non-empty buffer means `pos` is at or past the end of the file. The length is clamped to
    /// [`MAX_RW_COUNT`].
    ///
    /// When the range is in the page cache, the read is done at once with
    /// `preadv2(RWF_NOWAIT)` instead (no ring round trip; never on direct files); the result
    /// is the same. See [`set_inline_io`](Self::set_inline_io).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `pos > i64::MAX` or a misaligned direct transfer; otherwise what
    /// `pread(2)` reports. The buffer comes back either way.
    #[inline]
    pub fn read_at<B: IoBufMut>(
        &self,
        buf: B,
        pos: u64,
    ) -> impl Future<Output = BufResult<usize, B>> {
        let check = self.check(buf.stable_ptr(), buf.bytes_total(), pos);
        Read::op_checked(&self.fd, buf, pos, check)
    }

    /// Fills `buf` to its capacity from file offset `pos`, looping over short reads.
    ///
    /// On a direct (`O_DIRECT`) file every read must start on an aligned offset, so after a
    /// short count that is not a multiple of the alignment, the next read starts again at the
    /// last aligned boundary (re-reading a few bytes); a read that adds nothing means the
    /// file ended.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the file ends first (the bytes read so far are in the buffer), or as
    /// [`read_at`](Self::read_at).
    pub async fn read_exact_at<B: IoBufMut>(&self, mut buf: B, pos: u64) -> BufResult<(), B> {
        let total = buf.bytes_total();
        let step = self.resume_step();
        let mut filled = 0;
        while filled < total {
            let start = resume_at(filled, step);
            let (res, slice) = self
                .read_at(buf.slice(start..), pos.saturating_add(start as u64))
                .await;
            buf = slice.into_inner();
            match res {
                Ok(n) if start + n > filled => filled = start + n,
                Ok(_) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "end of file after {filled} of {total} bytes (read_exact_at {pos})"
                        ),
                    );
                    return (Err(e), buf);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// The granularity at which a looping transfer may resume after a short count: the
    /// direct-I/O alignment (offset and memory, both powers of two), or 1.
    fn resume_step(&self) -> usize {
        self.direct.map_or(1, |a| a.offset().max(a.memory()))
    }

    /// Writes the initialised part of `buf` at file offset `pos`; returns the number of bytes
    /// written, which may be short. The length is clamped to [`MAX_RW_COUNT`].
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `pos > i64::MAX` or a misaligned direct transfer; otherwise what
    /// `pwrite(2)` reports (`EBADF` on a file not open for writing, `ENOSPC`, ...).
    #[inline]
    pub fn write_at<B: IoBuf>(
        &self,
        buf: B,
        pos: u64,
    ) -> impl Future<Output = BufResult<usize, B>> {
        let check = self.check(buf.stable_ptr(), buf.bytes_init(), pos);
        Write::op_checked(&self.fd, buf, pos, check)
    }

    /// Writes all of the initialised part of `buf` at `pos`, looping over short writes.
    ///
    /// On a direct (`O_DIRECT`) file, after a short count that is not a multiple of the
    /// alignment, the next write starts again at the last aligned boundary (rewriting a few
    /// bytes with the same data).
    ///
    /// # Errors
    ///
    /// `WriteZero` if a write makes no progress (the kernel accepts no new byte), or as
    /// [`write_at`](Self::write_at).
    pub async fn write_all_at<B: IoBuf>(&self, mut buf: B, pos: u64) -> BufResult<(), B> {
        let total = buf.bytes_init();
        let step = self.resume_step();
        let mut written = 0;
        while written < total {
            let start = resume_at(written, step);
            let (res, slice) = self
                .write_at(buf.slice(start..total), pos.saturating_add(start as u64))
                .await;
            buf = slice.into_inner();
            match res {
                Ok(n) if start + n > written => written = start + n,
                Ok(n) => {
                    let e = io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!(
                            "write made no progress ({n} bytes at offset {}) after {written} of \
                             {total} bytes (write_all_at {pos})",
                            pos.saturating_add(start as u64)
                        ),
                    );
                    return (Err(e), buf);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Scatter read at `pos` into several buffers in order (one `IORING_OP_READV`), each up to
    /// its capacity; at most 1024 buffers take part. Returns the total read, which may be short.
    ///
    /// # Errors
    ///
    /// As [`read_at`](Self::read_at); for a direct file every buffer must be aligned.
    pub async fn readv_at<B: IoBufMut>(&self, bufs: Vec<B>, pos: u64) -> BufResult<usize, Vec<B>> {
        for b in &bufs {
            if let Err(e) = self.check(b.stable_ptr(), b.bytes_total(), pos) {
                return (Err(e), bufs);
            }
        }
        Readv::op(&self.fd, bufs, pos).await
    }

    /// Gather write at `pos` of the initialised parts of several buffers in order (one
    /// `IORING_OP_WRITEV`). Returns the total written, which may be short.
    ///
    /// # Errors
    ///
    /// As [`write_at`](Self::write_at); for a direct file every buffer must be aligned.
    pub async fn writev_at<B: IoBuf>(&self, bufs: Vec<B>, pos: u64) -> BufResult<usize, Vec<B>> {
        for b in &bufs {
            if let Err(e) = self.check(b.stable_ptr(), b.bytes_init(), pos) {
                return (Err(e), bufs);
            }
        }
        Writev::op(&self.fd, bufs, pos).await
    }

    /// [`read_at`](Self::read_at) into a registered buffer (`IORING_OP_READ_FIXED`): a
    /// [`FixedBuf`](crate::FixedBuf) from a [`FixedBufPool`](crate::FixedBufPool) on this core,
    /// or a slice of one.
    ///
    /// # Errors
    ///
    /// As [`read_at`](Self::read_at); `EFAULT` for a buffer registered on another ring.
    pub async fn read_fixed_at<B: FixedIoBuf + IoBufMut>(
        &self,
        buf: B,
        pos: u64,
    ) -> BufResult<usize, B> {
        if let Err(e) = self.check(buf.stable_ptr(), buf.bytes_total(), pos) {
            return (Err(e), buf);
        }
        ReadFixed::op(&self.fd, buf, pos).await
    }

    /// [`write_at`](Self::write_at) from a registered buffer (`IORING_OP_WRITE_FIXED`).
    ///
    /// # Errors
    ///
    /// As [`write_at`](Self::write_at); `EFAULT` for a buffer registered on another ring.
    pub async fn write_fixed_at<B: FixedIoBuf>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        if let Err(e) = self.check(buf.stable_ptr(), buf.bytes_init(), pos) {
            return (Err(e), buf);
        }
        WriteFixed::op(&self.fd, buf, pos).await
    }

    /// Flushes data and metadata to the device (`fsync`). Covers every write whose future has
    /// completed.
    ///
    /// # Errors
    ///
    /// What `fsync(2)` reports (`EIO`, ...).
    pub async fn sync_all(&self) -> io::Result<()> {
        Fsync::op(&self.fd, false).await
    }

    /// Flushes data, and only the metadata needed to read it back (`fdatasync`).
    ///
    /// # Errors
    ///
    /// What `fdatasync(2)` reports.
    pub async fn sync_data(&self) -> io::Result<()> {
        Fsync::op(&self.fd, true).await
    }

    /// The file's metadata (`statx` on the open file).
    ///
    /// # Errors
    ///
    /// What `statx(2)` reports.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        Statx::op_fd(&self.fd, STATX_MASK)
            .await
            .map(Metadata::from_statx)
    }

    /// Truncates or extends the file to `len` bytes (extension reads as zeros): the ring's
    /// `IORING_OP_FTRUNCATE` where the kernel has it (6.9+), else `ftruncate(2)` on the core.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `len > i64::MAX`, or what `ftruncate(2)` reports (`EINVAL` if the
    /// file is not open for writing).
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        ftruncate(&self.fd, len).await
    }

    /// Allocates disk space for `[offset, offset + len)` (`fallocate` mode 0): later writes
    /// there cannot fail with `ENOSPC`; the file grows if the range ends past its end.
    ///
    /// # Errors
    ///
    /// What `fallocate(2)` reports (`EOPNOTSUPP` on filesystems without it).
    pub async fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        self.fallocate(offset, len, 0).await
    }

    /// Deallocates `[offset, offset + len)`, which then reads as zeros; the length is kept
    /// (`FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`).
    ///
    /// # Errors
    ///
    /// What `fallocate(2)` reports (`EOPNOTSUPP` on filesystems without hole punching).
    pub async fn punch_hole(&self, offset: u64, len: u64) -> io::Result<()> {
        let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        self.fallocate(offset, len, mode).await
    }

    /// `fallocate(2)` with an explicit mode (`FALLOC_FL_*` flags).
    ///
    /// # Errors
    ///
    /// What `fallocate(2)` reports.
    pub async fn fallocate(&self, offset: u64, len: u64, mode: i32) -> io::Result<()> {
        check_pos(offset)?;
        Fallocate::op(&self.fd, offset, len, mode).await
    }

    /// Closes the file through the ring after every in-flight operation on it has completed,
    /// and reports the result of `close`.
    ///
    /// # Errors
    ///
    /// What `close(2)` reports (`EIO` on some network filesystems).
    pub async fn close(self) -> io::Result<()> {
        self.fd.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::resume_at;

    #[test]
    fn resume_rounds_down_to_the_step() {
        assert_eq!(resume_at(0, 512), 0);
        assert_eq!(resume_at(5000, 512), 4608);
        assert_eq!(resume_at(4608, 512), 4608);
        assert_eq!(resume_at(5000, 1), 5000);
    }
}
