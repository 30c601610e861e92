//! Alignment rules for direct I/O (`O_DIRECT`).
//!
//! Rules:
//! 1. A file opened for direct I/O takes its alignments from `statx` (`STATX_DIOALIGN`:
//!    `dio_mem_align` for buffer addresses, `dio_offset_align` for file offsets and lengths)
//!    where the kernel and filesystem report them, and 4096 for both otherwise.
//! 2. Every read and write on such a file is checked before it reaches the kernel; a
//!    misaligned one fails with `InvalidInput` naming the required alignment.

use std::io;

/// Fallback alignment when the kernel does not report one (Linux < 6.1 or a filesystem
/// without `STATX_DIOALIGN`): a page, which every device accepts.
pub(crate) const DEFAULT_ALIGN: usize = 4096;

/// The alignments direct I/O on a file requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectAlignment {
    memory: usize,
    offset: usize,
}

impl DirectAlignment {
    /// From `statx` values; zero or non-power-of-two values fall back to 4096.
    pub(crate) fn from_statx(memory: u32, offset: u32) -> DirectAlignment {
        let sane = |v: u32| {
            let v = v as usize;
            if v.is_power_of_two() {
                v
            } else {
                DEFAULT_ALIGN
            }
        };
        DirectAlignment {
            memory: sane(memory),
            offset: sane(offset),
        }
    }

    /// The 4096-byte fallback.
    pub(crate) fn fallback() -> DirectAlignment {
        DirectAlignment {
            memory: DEFAULT_ALIGN,
            offset: DEFAULT_ALIGN,
        }
    }

    /// Required alignment of a buffer's start address, in bytes.
    pub fn memory(&self) -> usize {
        self.memory
    }

    /// Required alignment of file offsets and transfer lengths, in bytes.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Checks one transfer: buffer address `addr`, `len` bytes, at file offset `pos`.
    pub(crate) fn check(&self, addr: usize, len: usize, pos: u64) -> io::Result<()> {
        let mem_ok = addr % self.memory == 0;
        let off_ok = pos % self.offset as u64 == 0 && len % self.offset == 0;
        if mem_ok && off_ok {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "misaligned direct I/O: this file needs buffer addresses aligned to {} bytes and \
                 offsets and lengths to multiples of {} bytes, got address {addr:#x}, offset \
                 {pos}, length {len} (use File::alloc_aligned for buffers)",
                self.memory, self.offset
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_alignment() {
        let a = DirectAlignment::from_statx(512, 4096);
        assert!(a.check(0x1000, 8192, 4096).is_ok());
        assert!(a.check(0x1200, 4096, 0).is_ok());
        let e = a.check(0x1001, 4096, 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("512"), "{e}");
        assert!(a.check(0x1000, 4096, 100).is_err());
        assert!(a.check(0x1000, 100, 0).is_err());
    }

    #[test]
    fn bogus_values_fall_back() {
        assert_eq!(
            DirectAlignment::from_statx(0, 3),
            DirectAlignment::fallback()
        );
    }
}
