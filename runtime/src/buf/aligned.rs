//! Aligned buffers for direct I/O (`O_DIRECT`).
//!
//! Direct I/O bypasses the page cache: the kernel moves data straight between the device and
//! user memory, so the buffer's address, the file offset and the length must all be multiples
//! of alignments the file reports (`statx` `dio_mem_align` / `dio_offset_align`, 512 or 4096
//! on most devices). [`AlignedBuf`] is an owned buffer whose address has a chosen alignment.
//!
//! Rules:
//! 1. The whole capacity is zeroed at allocation, so every byte is always initialised and the
//!    length can be changed safely with [`AlignedBuf::set_len`].
//! 2. The allocation never moves or grows; the capacity is fixed at construction.

use super::{IoBuf, IoBufMut};
use std::alloc::{self, Layout};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// An owned, zero-initialised buffer whose start is aligned to a power of two.
///
/// Like a `Vec<u8>` with a fixed capacity: reads fill it from the start up to its capacity and
/// set its length; writes send `[0, len)`.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::buf::aligned::AlignedBuf;
/// let mut buf = AlignedBuf::new(8192, 4096);
/// assert_eq!(buf.as_ptr() as usize % 4096, 0);
/// assert_eq!(buf.len(), 0);
/// buf.extend_from_slice(b"hello");
/// assert_eq!(&buf[..], b"hello");
/// buf.set_len(8192);
/// assert_eq!(buf[8191], 0);
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    capacity: usize,
    /// The allocation's alignment; its layout is `capacity.max(1)` bytes at this alignment
    /// (kept as one word rather than a whole `Layout`, whose size would repeat the capacity:
    /// four words move in two vector moves, and the buffer moves in and out of every op).
    align: usize,
}

// Four words: the size the `align` field's comment counts on.
const _: () = assert!(std::mem::size_of::<AlignedBuf>() == 4 * std::mem::size_of::<usize>());

// SAFETY: the buffer exclusively owns its allocation (like a Vec<u8>); nothing is shared.
unsafe impl Send for AlignedBuf {}
// SAFETY: &AlignedBuf only gives shared reads of owned bytes.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zeroed buffer of `capacity` bytes, length 0, whose address is a multiple of `align`.
    ///
    /// # Panics
    ///
    /// Panics if `align` is not a power of two, if `capacity` rounded up to `align` overflows
    /// `isize`, or (through the global allocation error handler) if memory runs out.
    pub fn new(capacity: usize, align: usize) -> AlignedBuf {
        let layout = match Layout::from_size_align(capacity.max(1), align) {
            Ok(l) => l,
            Err(_) => panic!(
                "AlignedBuf: alignment {align} is not a power of two, or capacity {capacity} is \
                 too large for it"
            ),
        };
        // SAFETY: the layout has a non-zero size (capacity.max(1)).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        AlignedBuf {
            ptr,
            len: 0,
            capacity,
            align: layout.align(),
        }
    }

    /// A buffer holding a copy of `data`, with capacity `data.len()`, aligned to `align`.
    ///
    /// # Panics
    ///
    /// As [`AlignedBuf::new`].
    pub fn from_slice(data: &[u8], align: usize) -> AlignedBuf {
        let mut buf = AlignedBuf::new(data.len(), align);
        buf.extend_from_slice(data);
        buf
    }

    /// The alignment of the buffer's start address.
    pub fn align(&self) -> usize {
        self.align
    }

    /// Bytes in use (what a write sends).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total bytes (what a read can fill).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Pointer to the first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Sets the length. Bytes between the old and the new length keep what they held (zero if
    /// never written): all of the buffer is always initialised.
    ///
    /// # Panics
    ///
    /// Panics if `len > capacity()`.
    pub fn set_len(&mut self, len: usize) {
        assert!(
            len <= self.capacity,
            "AlignedBuf::set_len({len}) beyond capacity {}",
            self.capacity
        );
        self.len = len;
    }

    /// Sets the length to 0.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `data` after the current length.
    ///
    /// # Panics
    ///
    /// Panics if the result would exceed the capacity (the buffer never reallocates).
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        let end = self
            .len
            .checked_add(data.len())
            .filter(|&e| e <= self.capacity);
        let Some(end) = end else {
            panic!(
                "AlignedBuf::extend_from_slice: {} + {} bytes exceed capacity {}",
                self.len,
                data.len(),
                self.capacity
            );
        };
        let start = self.len;
        self.len = end;
        self[start..end].copy_from_slice(data);
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: `new` checked this size and alignment (Layout::from_size_align); neither
        // field changes after it.
        let layout = unsafe { Layout::from_size_align_unchecked(self.capacity.max(1), self.align) };
        // SAFETY: `ptr` was returned by alloc_zeroed with exactly `layout` and is freed once.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), layout) };
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` points to `capacity >= len` initialised bytes (rule 1) owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .field("align", &self.align())
            .finish()
    }
}

// SAFETY: the allocation is owned by the buffer, never moves or reallocates (rule 2), and is
// freed only on drop; `capacity` bytes are valid and all initialised.
unsafe impl IoBuf for AlignedBuf {
    #[inline]
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    #[inline]
    fn bytes_init(&self) -> usize {
        self.len
    }
    #[inline]
    fn bytes_total(&self) -> usize {
        self.capacity
    }
}

// SAFETY: as for IoBuf; the whole capacity is writable.
unsafe impl IoBufMut for AlignedBuf {
    #[inline]
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    #[inline]
    unsafe fn set_init(&mut self, pos: usize) {
        // Like Vec: after a read the buffer holds exactly what the kernel wrote.
        self.len = pos.min(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        for align in [1usize, 512, 4096, 65536] {
            let mut b = AlignedBuf::new(3 * align + 7, align);
            assert_eq!(b.as_ptr() as usize % align, 0);
            b.set_len(b.capacity());
            assert!(b.iter().all(|&x| x == 0));
        }
    }

    #[test]
    fn zero_capacity() {
        let b = AlignedBuf::new(0, 4096);
        assert_eq!(b.bytes_total(), 0);
        assert!(b.is_empty());
        assert_eq!(b.as_ptr() as usize % 4096, 0);
    }

    #[test]
    fn set_init_sets_exact_len() {
        let mut b = AlignedBuf::from_slice(b"abcdef", 8);
        // SAFETY: 3 <= capacity; all bytes are initialised.
        unsafe { b.set_init(3) };
        assert_eq!(&b[..], b"abc");
    }

    #[test]
    #[should_panic(expected = "exceed capacity")]
    fn extend_past_capacity_panics() {
        let mut b = AlignedBuf::new(4, 4);
        b.extend_from_slice(b"hello");
    }
}
