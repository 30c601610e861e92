//! Directories: create and remove on the ring; list on the blocking helper (no io_uring
//! `getdents` exists).

use crate::blocking::unblock;
use crate::metadata::{FileType, Metadata};
use crate::path::{cstr, symlink_metadata};
use ringbolt_runtime::ops::fs::{MkDirAt, UnlinkAt};
use ringbolt_runtime::task::{spawn_blocking, RemoteJoinHandle};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};

/// Entries fetched per trip to the helper thread.
const BATCH: usize = 256;

/// Creates a directory with mode `0o777` (before the umask) (`mkdirat`).
///
/// # Errors
///
/// `AlreadyExists`; `NotFound` if the parent is missing; `PermissionDenied`; ...
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    MkDirAt::op(cstr(path.as_ref())?, 0o777).await
}

/// Creates a directory and every missing parent; succeeds if it already exists as a
/// directory (including when another task creates it concurrently).
///
/// # Errors
///
/// As `std::fs::create_dir_all`: `NotADirectory` (`ENOTDIR`) if a parent exists and is not
/// a directory; `AlreadyExists` if the path itself exists and is not a directory; otherwise
/// what `mkdirat(2)` reports (`PermissionDenied`, ...).
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    // Walk up until a directory exists or could be made, then create the rest downwards.
    let mut missing = Vec::new();
    let mut cur = path;
    loop {
        match create_dir(cur).await {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(cur);
                match cur.parent() {
                    Some(p) if !p.as_os_str().is_empty() => cur = p,
                    _ => return Err(e),
                }
            }
            Err(e) => {
                if is_dir(cur).await {
                    break;
                }
                return Err(e);
            }
        }
    }
    for dir in missing.into_iter().rev() {
        if let Err(e) = create_dir(dir).await {
            if !is_dir(dir).await {
                return Err(e);
            }
        }
    }
    Ok(())
}

async fn is_dir(path: &Path) -> bool {
    crate::path::metadata(path).await.is_ok_and(|m| m.is_dir())
}

/// Removes an empty directory (`unlinkat` with `AT_REMOVEDIR`).
///
/// # Errors
///
/// `NotFound`; `DirectoryNotEmpty`; `NotADirectory`; ...
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    UnlinkAt::op(cstr(path.as_ref())?, libc::AT_REMOVEDIR).await
}

/// Lists a directory.
///
/// **The one exception to "everything on the ring":** io_uring has no `getdents`, so the
/// directory is opened and read with `std::fs::read_dir` on a blocking helper thread
/// ([`unblock`]), 256 entries per trip, and the entries come back through a waker. The
/// `.` and `..` entries are skipped. [`DirEntry::metadata`] then goes through the ring.
///
/// # Errors
///
/// `NotFound`; `NotADirectory`; `PermissionDenied`; ...
///
/// # Examples
///
/// ```
/// # ringbolt_runtime::Runtime::new()?.block_on(async {
/// let mut dir = ringbolt_fs::read_dir("/").await?;
/// let mut n = 0;
/// while let Some(entry) = dir.next_entry().await? {
///     assert!(!entry.file_name().is_empty());
///     n += 1;
/// }
/// assert!(n > 0);
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_path_buf();
    let iter = unblock(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir {
        state: State::Idle(iter),
        ready: VecDeque::new(),
    })
}

/// What one trip to the helper thread brings back: the iterator (unless the directory
/// ended) and up to [`BATCH`] entries.
type Batch = (Option<std::fs::ReadDir>, VecDeque<io::Result<DirEntry>>);

enum State {
    /// Between batches; the helper is not using the iterator.
    Idle(std::fs::ReadDir),
    /// A batch is being read on the helper thread. A `next_entry` future dropped meanwhile
    /// leaves the job's handle here, and the next call collects the batch, so the listing
    /// goes on where it was.
    Busy(RemoteJoinHandle<Batch>),
    /// The directory was read to its end.
    Done,
}

/// A directory listing in progress; see [`read_dir`].
///
/// Cancellation-safe: dropping a [`next_entry`](Self::next_entry) future loses no entry.
pub struct ReadDir {
    state: State,
    ready: VecDeque<io::Result<DirEntry>>,
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("buffered", &self.ready.len())
            .finish_non_exhaustive()
    }
}

/// Reads up to [`BATCH`] entries on the helper thread.
fn read_batch(mut iter: std::fs::ReadDir) -> Batch {
    let mut batch = VecDeque::with_capacity(BATCH);
    while batch.len() < BATCH {
        match iter.next() {
            Some(entry) => batch.push_back(entry.map(DirEntry::from_std)),
            None => return (None, batch),
        }
    }
    (Some(iter), batch)
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    ///
    /// Cancellation-safe: if the future is dropped before it completes, the entries it was
    /// fetching are returned by the next call.
    ///
    /// # Errors
    ///
    /// An error reading one entry (the listing goes on after it, and still ends with
    /// `None`).
    ///
    /// # Panics
    ///
    /// Resumes a panic of the helper-thread job that reads the directory.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        loop {
            if let Some(entry) = self.ready.pop_front() {
                return entry.map(Some);
            }
            let job = match &mut self.state {
                State::Done => return Ok(None),
                State::Busy(job) => job,
                State::Idle(_) => {
                    if let State::Idle(iter) = std::mem::replace(&mut self.state, State::Done) {
                        self.state = State::Busy(spawn_blocking(move || read_batch(iter)));
                    }
                    continue;
                }
            };
            let res = job.await;
            match res {
                Ok((iter, batch)) => {
                    self.state = iter.map_or(State::Done, State::Idle);
                    self.ready = batch;
                }
                Err(e) => {
                    self.state = State::Done;
                    match e.try_into_panic() {
                        Ok(payload) => std::panic::resume_unwind(payload),
                        Err(e) => {
                            return Err(io::Error::other(format!(
                                "directory listing stopped: its helper-thread job was lost \
                                 ({e})"
                            )))
                        }
                    }
                }
            }
        }
    }
}

/// One entry of a directory listing.
pub struct DirEntry {
    path: PathBuf,
    file_type: Option<FileType>,
    ino: u64,
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirEntry")
            .field("path", &self.path)
            .field("file_type", &self.file_type)
            .finish()
    }
}

impl DirEntry {
    /// Built on the helper thread: `file_type` comes from `d_type` (or an `lstat` there when
    /// the filesystem does not fill it).
    fn from_std(e: std::fs::DirEntry) -> DirEntry {
        DirEntry {
            path: e.path(),
            file_type: e.file_type().ok().map(FileType::from_std),
            ino: e.ino(),
        }
    }

    /// The full path: the listed directory joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The file name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.path
            .file_name()
            .map(OsString::from)
            .unwrap_or_default()
    }

    /// The inode number from the directory entry.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The entry's kind, not following symlinks; from the listing when the filesystem
    /// provided it, otherwise one `statx` on the ring.
    ///
    /// # Errors
    ///
    /// As [`metadata`](Self::metadata) when a `statx` is needed.
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(t) => Ok(t),
            None => Ok(self.metadata().await?.file_type()),
        }
    }

    /// Metadata of the entry, not following symlinks (`statx` with `AT_SYMLINK_NOFOLLOW`).
    ///
    /// # Errors
    ///
    /// `NotFound` if the entry was removed since the listing; ...
    pub async fn metadata(&self) -> io::Result<Metadata> {
        symlink_metadata(&self.path).await
    }
}
