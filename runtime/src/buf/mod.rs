//! Owned buffers for completion-based I/O.
//!
//! The kernel reads from and writes into a buffer *after* the submitting call returns, so
//! ringbolt never lends it a borrowed slice. Buffers move into an operation by value and come
//! back with its result as a [`BufResult`], on success and on error alike.
//!
//! Rules:
//! 1. A type implementing [`IoBuf`] promises that the pointer it reports stays valid and at the
//!    same address while the value is moved around (heap storage or `'static` data).
//! 2. Reads fill a buffer from its start up to [`IoBuf::bytes_total`] (its capacity) and then
//!    call [`IoBufMut::set_init`] with the number of bytes the kernel wrote; a `Vec<u8>` grows
//!    its length to cover them and never shrinks.
//! 3. Writes send the initialised part, `[0, bytes_init)`.
//! 4. Lengths handed to the kernel are clamped to [`MAX_RW_COUNT`]; callers who need everything
//!    moved use the `*_all` helpers, which loop over short transfers.
//!
//! Buffers: `Vec<u8>`, `Box<[u8]>`, `&'static [u8]`/`&'static str`, [`aligned`] and
//! [`fixed`] buffers, slices of any of them; with the `bytes` feature, `bytes::Bytes`
//! (written from) and `bytes::BytesMut` (read into and written from).

pub mod aligned;
#[cfg(feature = "bytes")]
mod bytes;
pub mod fixed;
pub mod provided;
mod slice;

pub use slice::Slice;

use std::io;
use std::ops::{Bound, RangeBounds};

/// The result of an operation that took a buffer by value: the outcome, and the buffer back.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::buf::BufResult;
/// fn handle(r: BufResult<usize, Vec<u8>>) -> Vec<u8> {
///     let (res, buf) = r;
///     match res {
///         Ok(n) => println!("moved {n} bytes"),
///         Err(e) => eprintln!("failed: {e}"),
///     }
///     buf
/// }
/// # let _ = handle((Ok(1), vec![0u8]));
/// ```
pub type BufResult<T, B> = (io::Result<T>, B);

/// The most bytes Linux moves in one read or write call (`MAX_RW_COUNT`, `INT_MAX` rounded
/// down to a page). Single operations clamp their length to this.
pub const MAX_RW_COUNT: usize = 0x7fff_f000;

/// A buffer the kernel may read from while an operation is in flight.
///
/// # Safety
///
/// - `stable_ptr` must point to `bytes_total()` bytes of memory owned by `self`, of which the
///   first `bytes_init()` are initialised.
/// - That memory must stay valid and at the same address when `self` is moved, and must not be
///   freed or reallocated except by dropping `self` or through `&mut self` methods.
pub unsafe trait IoBuf: 'static {
    /// Pointer to the start of the buffer.
    fn stable_ptr(&self) -> *const u8;
    /// Number of initialised bytes: what a write sends.
    fn bytes_init(&self) -> usize;
    /// Total capacity in bytes: the most a read can fill.
    fn bytes_total(&self) -> usize;

    /// A view of part of this buffer, by value; [`Slice::into_inner`] gives the buffer back.
    ///
    /// # Panics
    ///
    /// Panics if the range is out of `0..=bytes_total()` or decreasing.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringbolt_runtime::buf::IoBuf;
    /// let s = b"hello world".to_vec().slice(6..);
    /// assert_eq!(&s[..], b"world");
    /// assert_eq!(s.into_inner().len(), 11);
    /// ```
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n + 1,
            Bound::Excluded(&n) => n,
            Bound::Unbounded => self.bytes_total(),
        };
        assert!(
            begin <= end && end <= self.bytes_total(),
            "slice {begin}..{end} out of range for a buffer of {} bytes",
            self.bytes_total()
        );
        Slice::new(self, begin, end)
    }
}

/// A buffer the kernel may write into while an operation is in flight.
///
/// # Safety
///
/// Everything [`IoBuf`] requires, and `stable_mut_ptr` must point to the same memory as
/// `stable_ptr`, writable for `bytes_total()` bytes.
pub unsafe trait IoBufMut: IoBuf {
    /// Mutable pointer to the start of the buffer.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Records that the first `pos` bytes are initialised (the kernel wrote them).
    ///
    /// # Safety
    ///
    /// - The first `pos` bytes must really be initialised.
    /// - `pos <= bytes_total()`.
    unsafe fn set_init(&mut self, pos: usize);
}

// SAFETY: a Vec's heap block does not move when the Vec value moves; it is only reallocated
// through &mut methods, which an in-flight op never calls because it owns the Vec.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: as for IoBuf; as_mut_ptr covers the whole capacity.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if self.len() < pos {
            // SAFETY: the caller guarantees pos <= capacity and that the bytes are initialised.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: a boxed slice's heap block does not move with the Box; its length is fixed and all
// of it is initialised.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: as above; the whole slice is writable and always initialised.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}

// SAFETY: 'static data never moves and is never freed.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: 'static data never moves and is never freed.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

/// Clamps a length to what one read or write accepts.
pub(crate) fn clamp_len(len: usize) -> u32 {
    len.min(MAX_RW_COUNT) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_set_init_only_grows() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abcd");
        // SAFETY: 2 <= capacity and the first 2 bytes are initialised.
        unsafe { v.set_init(2) };
        assert_eq!(v.len(), 4);
        let p = v.stable_mut_ptr();
        // SAFETY: p points to 16 writable bytes.
        unsafe { std::ptr::write_bytes(p.add(4), b'x', 4) };
        // SAFETY: 8 bytes are now initialised and 8 <= 16.
        unsafe { v.set_init(8) };
        assert_eq!(&v[..], b"abcdxxxx");
    }

    #[test]
    fn clamp() {
        assert_eq!(clamp_len(10), 10);
        assert_eq!(clamp_len(usize::MAX), MAX_RW_COUNT as u32);
    }
}
