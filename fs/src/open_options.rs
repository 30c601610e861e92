//! [`OpenOptions`]: how to open a file, mirroring `std::fs::OpenOptions`.

use crate::direct::DirectAlignment;
use crate::file::File;
use crate::metadata::STATX_MASK;
use crate::path::cstr;
use ringbolt_runtime::ops::fs::{OpenAt, Statx};
use ringbolt_runtime::SharedFd;
use std::io;
use std::path::Path;

/// Options for opening a file, like `std::fs::OpenOptions`, opened with one `openat` on the
/// ring. Every file is opened with `O_CLOEXEC`.
///
/// # Examples
///
/// ```
/// use ringbolt_fs::OpenOptions;
/// # let path = std::env::temp_dir().join(format!("ringbolt-oo-doc-{}", std::process::id()));
/// # ringbolt_runtime::Runtime::new()?.block_on(async {
/// let f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).await?;
/// # drop(f);
/// # ringbolt_fs::remove_file(&path).await
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    direct: bool,
    mode: u32,
    custom_flags: i32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off, mode `0o666` (before the umask).
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            direct: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.read = read;
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.write = write;
        self
    }

    /// Open in append mode (`O_APPEND`): every write goes to the end of the file, whatever
    /// offset `write_at` is given (Linux `pwrite` semantics). Implies write access.
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.append = append;
        self
    }

    /// Truncate an existing file to length 0. Needs write access.
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.truncate = truncate;
        self
    }

    /// Create the file if it does not exist. Needs write or append access.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (`O_CREAT | O_EXCL`).
    /// Needs write or append access; overrides `create` and `truncate`.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// Permission bits for a created file (before the umask). Default `0o666`.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Extra `open(2)` flags (`O_NOATIME`, `O_DSYNC`, ...). The access-mode bits are ignored;
    /// `O_DIRECT` here has the same effect as [`direct`](Self::direct).
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }

    /// Direct I/O (`O_DIRECT`): transfers bypass the page cache. The opened file learns its
    /// alignment requirements ([`File::direct_alignment`]) and rejects misaligned reads and
    /// writes with `InvalidInput`.
    pub fn direct(&mut self, direct: bool) -> &mut Self {
        self.direct = direct;
        self
    }

    /// The `open(2)` flags these options stand for, with std's validation.
    pub(crate) fn flags(&self) -> io::Result<i32> {
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => {
                return Err(invalid(
                    "OpenOptions: none of read, write or append was requested",
                ))
            }
        };
        if !self.write && !self.append && (self.truncate || self.create || self.create_new) {
            return Err(invalid(
                "OpenOptions: create, create_new and truncate need write or append access",
            ));
        }
        if self.append && self.truncate && !self.create_new {
            return Err(invalid(
                "OpenOptions: append and truncate exclude each other",
            ));
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
            (false, false, false) => 0,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
        };
        let direct = if self.direct { libc::O_DIRECT } else { 0 };
        Ok(access | creation | direct | (self.custom_flags & !libc::O_ACCMODE))
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an inconsistent set of options (as std) or a path containing a NUL
    /// byte; otherwise what `openat(2)` reports: `NotFound`, `AlreadyExists` (with
    /// `create_new`), `PermissionDenied`, `EINVAL` for `O_DIRECT` on a filesystem without
    /// direct I/O, ...
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let flags = self.flags()?;
        let path = cstr(path.as_ref())?;
        let fd = SharedFd::new(OpenAt::op(path, flags, self.mode).await?);
        let direct = if flags & libc::O_DIRECT != 0 {
            Some(direct_alignment(&fd).await?)
        } else {
            None
        };
        // The flags are known (no `F_GETFL` look-up at the first read): page-cache reads go
        // inline first unless the file is direct. Writes stay on the ring: buffered
        // `RWF_NOWAIT` writes showed no win where measured (ext4 and tmpfs reject them).
        fd.set_inline_io(direct.is_none(), false);
        Ok(File::from_parts(fd, direct))
    }
}

/// The alignment direct I/O on `fd` needs: from `STATX_DIOALIGN`, else 4096.
async fn direct_alignment(fd: &SharedFd) -> io::Result<DirectAlignment> {
    let stx = Statx::op_fd(fd, STATX_MASK).await?;
    let reported = stx.stx_mask & libc::STATX_DIOALIGN != 0 && stx.stx_dio_mem_align != 0;
    Ok(if reported {
        DirectAlignment::from_statx(stx.stx_dio_mem_align, stx.stx_dio_offset_align)
    } else {
        DirectAlignment::fallback()
    })
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_flag_rules() {
        assert_eq!(
            OpenOptions::new().read(true).flags().ok(),
            Some(libc::O_RDONLY)
        );
        assert_eq!(
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .flags()
                .ok(),
            Some(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC)
        );
        assert_eq!(
            OpenOptions::new()
                .append(true)
                .create_new(true)
                .flags()
                .ok(),
            Some(libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_EXCL)
        );
        assert!(OpenOptions::new().flags().is_err());
        assert!(OpenOptions::new().read(true).create(true).flags().is_err());
        assert!(OpenOptions::new()
            .append(true)
            .truncate(true)
            .flags()
            .is_err());
        let custom = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOATIME | libc::O_RDWR)
            .flags()
            .ok();
        assert_eq!(custom, Some(libc::O_RDONLY | libc::O_NOATIME));
    }
}
