//! [`Metadata`] and [`FileType`], decoded from the kernel's `struct statx`.

use crate::direct::DirectAlignment;
use std::fmt;
use std::fs::Permissions;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `statx` fields ringbolt asks for: the basic `stat` set, birth time, and direct-I/O
/// alignment.
pub(crate) const STATX_MASK: u32 =
    libc::STATX_BASIC_STATS | libc::STATX_BTIME | libc::STATX_DIOALIGN;

/// Metadata of a file, from one `statx` call on the ring.
///
/// # Examples
///
/// ```
/// # ringbolt_runtime::Runtime::new()?.block_on(async {
/// let meta = ringbolt_fs::metadata("/").await?;
/// assert!(meta.is_dir());
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Metadata {
    stx: libc::statx,
}

impl Metadata {
    pub(crate) fn from_statx(stx: libc::statx) -> Metadata {
        Metadata { stx }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.stx.stx_size
    }

    /// Whether the size is 0.
    pub fn is_empty(&self) -> bool {
        self.stx.stx_size == 0
    }

    /// The kind of file.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(u32::from(self.stx.stx_mode))
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// Whether this is a symbolic link (only from [`symlink_metadata`](crate::symlink_metadata)
    /// or [`DirEntry::metadata`](crate::DirEntry::metadata)).
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// Permission bits (`mode & 0o7777`).
    pub fn permissions(&self) -> Permissions {
        Permissions::from_mode(self.mode() & 0o7777)
    }

    /// The full `st_mode`: file type and permission bits.
    pub fn mode(&self) -> u32 {
        u32::from(self.stx.stx_mode)
    }

    /// Last modification time.
    ///
    /// # Errors
    ///
    /// `Unsupported` if the filesystem did not report it.
    pub fn modified(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_MTIME, self.stx.stx_mtime, "modification")
    }

    /// Last access time.
    ///
    /// # Errors
    ///
    /// `Unsupported` if the filesystem did not report it.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_ATIME, self.stx.stx_atime, "access")
    }

    /// Creation (birth) time.
    ///
    /// # Errors
    ///
    /// `Unsupported` if the filesystem does not record it.
    pub fn created(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_BTIME, self.stx.stx_btime, "creation")
    }

    /// Last status change time.
    ///
    /// # Errors
    ///
    /// `Unsupported` if the filesystem did not report it.
    pub fn changed(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_CTIME, self.stx.stx_ctime, "status change")
    }

    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.stx.stx_ino
    }

    /// Device of the filesystem holding the file (`makedev(major, minor)`).
    pub fn dev(&self) -> u64 {
        let (major, minor) = (
            u64::from(self.stx.stx_dev_major),
            u64::from(self.stx.stx_dev_minor),
        );
        // glibc's makedev encoding, as in `st_dev`.
        ((major & 0xffff_f000) << 32)
            | ((major & 0xfff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0xff)
    }

    /// Number of hard links.
    pub fn nlink(&self) -> u64 {
        u64::from(self.stx.stx_nlink)
    }

    /// Owner user id.
    pub fn uid(&self) -> u32 {
        self.stx.stx_uid
    }

    /// Owner group id.
    pub fn gid(&self) -> u32 {
        self.stx.stx_gid
    }

    /// Allocated 512-byte blocks (smaller than `len / 512` for sparse files).
    pub fn blocks(&self) -> u64 {
        self.stx.stx_blocks
    }

    /// Preferred I/O block size.
    pub fn blksize(&self) -> u64 {
        u64::from(self.stx.stx_blksize)
    }

    /// Direct-I/O alignment the filesystem reports for this file (`STATX_DIOALIGN`, Linux 6.1+),
    /// or `None` if it reports none or does not support direct I/O on it.
    pub fn direct_alignment(&self) -> Option<DirectAlignment> {
        let reported = self.stx.stx_mask & libc::STATX_DIOALIGN != 0;
        (reported && self.stx.stx_dio_mem_align != 0).then(|| {
            DirectAlignment::from_statx(self.stx.stx_dio_mem_align, self.stx.stx_dio_offset_align)
        })
    }

    fn time(&self, bit: u32, ts: libc::statx_timestamp, what: &str) -> io::Result<SystemTime> {
        if self.stx.stx_mask & bit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("the filesystem did not report a {what} time"),
            ));
        }
        let nanos = Duration::from_nanos(u64::from(ts.tv_nsec));
        let t = if ts.tv_sec >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(ts.tv_sec as u64) + nanos)
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(ts.tv_sec.unsigned_abs()))
                .and_then(|t| t.checked_add(nanos))
        };
        t.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "timestamp out of range"))
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("len", &self.len())
            .field("mode", &format_args!("{:#o}", self.mode()))
            .field("ino", &self.ino())
            .field("nlink", &self.nlink())
            .field("blocks", &self.blocks())
            .finish_non_exhaustive()
    }
}

/// The kind of a file: regular, directory, symlink, or special.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileType {
    /// `mode & S_IFMT`.
    fmt: u32,
}

impl FileType {
    pub(crate) fn from_mode(mode: u32) -> FileType {
        FileType {
            fmt: mode & libc::S_IFMT,
        }
    }

    pub(crate) fn from_std(t: std::fs::FileType) -> FileType {
        use std::os::unix::fs::FileTypeExt;
        let fmt = if t.is_file() {
            libc::S_IFREG
        } else if t.is_dir() {
            libc::S_IFDIR
        } else if t.is_symlink() {
            libc::S_IFLNK
        } else if t.is_block_device() {
            libc::S_IFBLK
        } else if t.is_char_device() {
            libc::S_IFCHR
        } else if t.is_fifo() {
            libc::S_IFIFO
        } else if t.is_socket() {
            libc::S_IFSOCK
        } else {
            0
        };
        FileType { fmt }
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.fmt == libc::S_IFREG
    }
    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.fmt == libc::S_IFDIR
    }
    /// A symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.fmt == libc::S_IFLNK
    }
    /// A block device.
    pub fn is_block_device(&self) -> bool {
        self.fmt == libc::S_IFBLK
    }
    /// A character device.
    pub fn is_char_device(&self) -> bool {
        self.fmt == libc::S_IFCHR
    }
    /// A FIFO (named pipe).
    pub fn is_fifo(&self) -> bool {
        self.fmt == libc::S_IFIFO
    }
    /// A Unix socket.
    pub fn is_socket(&self) -> bool {
        self.fmt == libc::S_IFSOCK
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.fmt {
            libc::S_IFREG => "file",
            libc::S_IFDIR => "dir",
            libc::S_IFLNK => "symlink",
            libc::S_IFBLK => "block_device",
            libc::S_IFCHR => "char_device",
            libc::S_IFIFO => "fifo",
            libc::S_IFSOCK => "socket",
            _ => "unknown",
        };
        f.write_str(name)
    }
}
