//! The data files, their content pattern, aligned buffers and the `O_DIRECT` probe.
//!
//! Rules:
//! 1. `data.bin` holds a pattern where the 8-byte word at byte offset `p` is [`word_at`]`(p)`,
//!    so any read can be checked against its offset. Reads check the first and last word of
//!    every 4 KiB page they return.
//! 2. Write workloads go to a separate `write.bin` (fio's writes would destroy the pattern);
//!    both files are created once and reused while their size matches.

use std::alloc::Layout;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Alignment of every I/O buffer (enough for `O_DIRECT` on common filesystems).
pub const ALIGN: usize = 4096;
const PAGE: usize = 4096;

/// The pattern word stored at byte offset `p` (a multiple of 8) of the data file.
pub fn word_at(p: u64) -> u64 {
    p.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x00C0_FFEE_5EED_0000
}

/// Fills `buf` with the pattern of the file region starting at `off`.
pub fn fill(buf: &mut [u8], off: u64) {
    for (i, chunk) in buf.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&word_at(off + 8 * i as u64).to_le_bytes());
    }
}

/// Checks the first and last word of every page of `buf` read from offset `off`.
pub fn verify(buf: &[u8], off: u64) -> bool {
    let word = |i: usize| {
        buf.get(i..i + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    let mut page = 0;
    while page + 8 <= buf.len() {
        let last = (page + PAGE).min(buf.len()) - 8;
        for i in [page, last] {
            if word(i) != Some(word_at(off + i as u64)) {
                return false;
            }
        }
        page += PAGE;
    }
    true
}

/// The two files of the file benchmark.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Pattern file read by the read workloads.
    pub data: PathBuf,
    /// File written by the write workloads.
    pub write: PathBuf,
    /// Size of each file in bytes.
    pub size: u64,
}

impl Dataset {
    /// Creates (or reuses) both files under `dir`; returns whether anything was written.
    ///
    /// # Errors
    /// Any I/O error creating or writing the files.
    pub fn prepare(dir: &Path, size: u64) -> io::Result<(Dataset, bool)> {
        let size = size / (128 * 1024) * (128 * 1024);
        if size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "file size must be at least 128 KiB",
            ));
        }
        std::fs::create_dir_all(dir)?;
        let ds = Dataset {
            data: dir.join("data.bin"),
            write: dir.join("write.bin"),
            size,
        };
        let mut created = false;
        if !ds.data_ok()? {
            write_file(&ds.data, size, true)?;
            created = true;
        }
        if std::fs::metadata(&ds.write).map(|m| m.len()).ok() != Some(size) {
            write_file(&ds.write, size, false)?;
            created = true;
        }
        Ok((ds, created))
    }

    fn data_ok(&self) -> io::Result<bool> {
        let Ok(file) = File::open(&self.data) else {
            return Ok(false);
        };
        if file.metadata()?.len() != self.size {
            return Ok(false);
        }
        let mut buf = vec![0u8; PAGE];
        for i in 0..16u64 {
            let off = (self.size / PAGE as u64 * i / 16) * PAGE as u64;
            file.read_exact_at(&mut buf, off)?;
            if !verify(&buf, off) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads the whole data file once so the page-cache workloads start warm.
    ///
    /// # Errors
    /// Any read error.
    pub fn warm_cache(&self) -> io::Result<()> {
        self.warm(&self.data)
    }

    /// Reads `path` (one of the two files) once, start to end.
    fn warm(&self, path: &Path) -> io::Result<()> {
        let file = File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0;
        while off < self.size {
            let n = file.read_at(&mut buf, off)?;
            if n == 0 {
                break;
            }
            off += n as u64;
        }
        Ok(())
    }

    /// The fraction of `path`'s pages (one of the two files) in the page cache now (`mincore` over a shared
    /// read-only mapping, which reads nothing from the file).
    ///
    /// # Errors
    /// The open, `mmap` or `mincore` failing.
    pub fn resident_fraction(&self, path: &Path) -> io::Result<f64> {
        use std::os::fd::AsRawFd;
        let file = File::open(path)?;
        let len = self.size as usize;
        // SAFETY: a new shared read-only mapping of `len` bytes of an open file, placed by the
        // kernel; nothing reads through it, and it is unmapped below.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut vec = vec![0u8; len.div_ceil(PAGE)];
        // SAFETY: `addr` is a page-aligned mapping of `len` bytes, and `vec` has one byte per
        // page of it.
        let r = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
        let err = io::Error::last_os_error();
        // SAFETY: the mapping made above, not used after this.
        unsafe { libc::munmap(addr, len) };
        if r != 0 {
            return Err(err);
        }
        let resident = vec.iter().filter(|&&b| b & 1 != 0).count();
        Ok(resident as f64 / vec.len().max(1) as f64)
    }

    /// Makes sure the whole of `path` (one of the two files) is in the page cache before a
    /// buffered run: reads it again when any page is missing. Returns the fraction that was
    /// resident before.
    ///
    /// Needed on hosts that reclaim page cache nobody touched for a while (a VM whose host
    /// runs DAMON's `pageout` scheme on it: unmapped file pages idle for about a minute go,
    /// 128 MiB per second). A file warmed once before the file part can then be half gone
    /// by the time a workload reaches it, and the first contender measures the disk.
    ///
    /// # Errors
    /// Any read error.
    ///
    /// For writes too: 4 KiB writes over pages the host dropped allocate and insert each page
    /// again, which the first contender of a write workload would pay alone.
    pub fn ensure_cached(&self, path: &Path) -> io::Result<f64> {
        let before = self.resident_fraction(path).unwrap_or(0.0);
        if before < 1.0 {
            self.warm(path)?;
        }
        Ok(before)
    }

    /// Whether `O_DIRECT` works on this filesystem: `Err(reason)` when it does not.
    pub fn direct_io_supported(&self) -> Result<(), String> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(&self.data)
            .map_err(|e| format!("O_DIRECT open failed: {e}"))?;
        let mut buf = AlignedBuf::new(PAGE);
        match file.read_at(buf.as_mut_slice(), 0) {
            Ok(n) if n == PAGE && verify(buf.as_slice(), 0) => Ok(()),
            Ok(n) => Err(format!("O_DIRECT read returned {n} unexpected bytes")),
            Err(e) => Err(format!("O_DIRECT read failed: {e}")),
        }
    }
}

fn write_file(path: &Path, size: u64, pattern: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(buf.len() as u64) as usize;
        if pattern {
            fill(&mut buf[..n], off);
        }
        file.write_all(&buf[..n])?;
        off += n as u64;
    }
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A heap buffer aligned to [`ALIGN`] (for `O_DIRECT`), zero-initialised.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: AlignedBuf uniquely owns its allocation, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `len` zeroed bytes (at least one page).
    ///
    /// # Panics
    /// On allocation failure, like `Vec`.
    pub fn new(len: usize) -> AlignedBuf {
        let len = len.max(ALIGN).next_multiple_of(ALIGN);
        let layout = Self::layout(len);
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, len }
    }

    fn layout(len: usize) -> Layout {
        Layout::from_size_align(len, ALIGN).unwrap_or_else(|_| Layout::new::<[u8; ALIGN]>())
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is a live allocation of `len` initialised bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this same layout and not freed before.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_verifies_only_at_its_offset() {
        let mut buf = vec![0u8; 3 * PAGE];
        fill(&mut buf, 8192);
        assert!(verify(&buf, 8192));
        assert!(!verify(&buf, 4096));
        buf[2 * PAGE + PAGE - 1] ^= 1;
        assert!(!verify(&buf, 8192), "last word of the last page is checked");
    }

    #[test]
    fn aligned_buf_is_aligned_and_zeroed() {
        let mut b = AlignedBuf::new(100);
        assert_eq!(b.as_slice().len(), ALIGN);
        assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        b.as_mut_slice()[5] = 7;
        assert_eq!(b.as_slice()[5], 7);
    }

    /// `ensure_cached` brings back pages the kernel dropped, and `resident_fraction` sees both.
    #[test]
    fn ensure_cached_rewarms_dropped_pages() {
        use std::os::fd::AsRawFd;
        let dir = std::env::temp_dir().join(format!("versus-ds-{}", std::process::id()));
        let (ds, created) = Dataset::prepare(&dir, 4 << 20).unwrap();
        assert!(created);
        ds.warm_cache().unwrap();
        assert_eq!(ds.resident_fraction(&ds.data).unwrap(), 1.0);
        // Clean pages (written, then synced by `prepare`) go on DONTNEED, except on tmpfs,
        // where the page cache is the file.
        let f = File::open(&ds.data).unwrap();
        // SAFETY: plain advice on an open fd.
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let dropped = ds.resident_fraction(&ds.data).unwrap();
        // SAFETY: statfs fills the struct it is given for an open fd.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) }, 0);
        if st.f_type != libc::TMPFS_MAGIC {
            assert!(dropped < 1.0, "DONTNEED dropped nothing ({dropped})");
        }
        let before = ds.ensure_cached(&ds.data).unwrap();
        assert_eq!(before, dropped);
        assert_eq!(ds.resident_fraction(&ds.data).unwrap(), 1.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
