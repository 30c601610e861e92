//! Path operations and whole-file helpers, each on the ring.

use crate::file::File;
use crate::metadata::{Metadata, STATX_MASK};
use ringbolt_runtime::buf::IoBuf;
use ringbolt_runtime::ops::fs::{LinkAt, RenameAt, Statx, SymlinkAt, UnlinkAt};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A path as the C string the kernel takes.
pub(crate) fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path contains a NUL byte: {}", path.display()),
        )
    })
}

/// Removes a file or symlink (`unlinkat`).
///
/// # Errors
///
/// `NotFound`; `IsADirectory` (`EISDIR`) for a directory; `PermissionDenied`; ...
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    UnlinkAt::op(cstr(path.as_ref())?, 0).await
}

/// Renames `from` to `to`, replacing `to` if it exists (`renameat2`, flags 0).
///
/// # Errors
///
/// `NotFound` if `from` is missing; `DirectoryNotEmpty` when replacing a non-empty directory;
/// `CrossesDevices` across filesystems; ...
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    RenameAt::op(cstr(from.as_ref())?, cstr(to.as_ref())?, 0).await
}

/// Creates a hard link `link` to the file `original` (`linkat`; a symlink `original` is linked
/// itself, not followed).
///
/// # Errors
///
/// `NotFound` if `original` is missing; `AlreadyExists` if `link` exists; ...
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    LinkAt::op(cstr(original.as_ref())?, cstr(link.as_ref())?, 0).await
}

/// Creates a symbolic link `link` whose content is `original` (`symlinkat`); `original` need
/// not exist.
///
/// # Errors
///
/// `AlreadyExists` if `link` exists; `NotFound` if its directory is missing; ...
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    SymlinkAt::op(cstr(original.as_ref())?, cstr(link.as_ref())?).await
}

/// Metadata of `path`, following symlinks (`statx`).
///
/// # Errors
///
/// `NotFound`; `PermissionDenied`; ...
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    Statx::op_path(cstr(path.as_ref())?, 0, STATX_MASK)
        .await
        .map(Metadata::from_statx)
}

/// Metadata of `path` itself, not following a final symlink (`statx` with
/// `AT_SYMLINK_NOFOLLOW`).
///
/// # Errors
///
/// As [`metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    Statx::op_path(cstr(path.as_ref())?, libc::AT_SYMLINK_NOFOLLOW, STATX_MASK)
        .await
        .map(Metadata::from_statx)
}

/// Whether `path` exists (following symlinks): `Ok(false)` for `NotFound`.
///
/// # Errors
///
/// Errors other than `NotFound` (`PermissionDenied` on a parent, ...).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    match metadata(path).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads a whole file into a `Vec<u8>`: one `statx` for the size hint, then reads until end
/// of file.
///
/// The buffer is reserved fallibly, as `std::fs::read` does: a file whose reported size
/// cannot be allocated (a sparse 1 TiB file, say) fails with `OutOfMemory` instead of
/// aborting the process.
///
/// # Errors
///
/// `OutOfMemory` if the file does not fit in memory; otherwise what opening or reading
/// reports.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let file = File::open(path).await?;
    let hint = file.metadata().await.map_or(0, |m| m.len());
    let mut buf = Vec::new();
    // One byte beyond the size: a file that did not grow is read by one read plus one that
    // returns 0. A size beyond the address space cannot be held at all.
    let want = usize::try_from(hint)
        .ok()
        .filter(|&n| n < isize::MAX as usize)
        .ok_or_else(|| too_big(hint))?;
    buf.try_reserve_exact(want + 1).map_err(|_| too_big(hint))?;
    loop {
        if buf.len() == buf.capacity() {
            let more = buf.capacity().max(8192);
            buf.try_reserve(more)
                .map_err(|_| too_big(buf.len() as u64 + more as u64))?;
        }
        let len = buf.len();
        let (res, slice) = file.read_at(buf.slice(len..), len as u64).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    file.close().await?;
    Ok(buf)
}

/// The error for a file too large to read into memory.
fn too_big(len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "cannot allocate {len} bytes to read the whole file; read it in pieces with \
             File::read_at instead"
        ),
    )
}

/// Reads a whole UTF-8 file into a `String`.
///
/// # Errors
///
/// `InvalidData` if the content is not UTF-8, or as [`read`].
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file is not valid UTF-8: {e}"),
        )
    })
}

/// Writes `contents` as the whole file, creating it or truncating it first.
///
/// `contents` moves into the write (a `Vec<u8>` or `String` without a copy; a slice is
/// copied once).
///
/// # Errors
///
/// What opening, writing or closing reports.
pub async fn write(path: impl AsRef<Path>, contents: impl Into<Vec<u8>>) -> io::Result<()> {
    let file = File::create(path).await?;
    let (res, _buf) = file.write_all_at(contents.into(), 0).await;
    res?;
    file.close().await
}
