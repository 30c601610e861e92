//! Owned buffers for completion-based I/O.
//!
//! The kernel reads from and writes into a buffer *after* the submitting call returns, so
//! ringbolt never lends it a borrowed slice. Buffers move into an operation by value and come
//! back with its result as a [`BufResult`], on success and on error alike.
//!
//! Rules:
//! 1. A type implementing [`IoBuf`] promises that the pointer it reports stays valid and at the
//!    same address while the value is moved around (heap storage or `'static` data).
//! 2. **How far a read fills.** Every read, `read_exact` included, writes from the start of
//!    the buffer up to [`IoBuf::bytes_total`], its *capacity* (not a `Vec`'s `len`). To read
//!    fewer bytes, read into `buf.slice(..n)`.
//! 3. **What a read leaves.** Afterwards the buffer holds exactly the bytes read: the op calls
//!    [`IoBufMut::set_init`] with the count, and a `Vec<u8>` (or [`AlignedBuf`](aligned::AlignedBuf),
//!    [`FixedBuf`](fixed::FixedBuf)) gets that length, shorter or longer than before. So the
//!    natural loop `read(buf)` then `write_all(buf)` never sends stale bytes from an earlier,
//!    longer read. A read through a [`Slice`] `begin..end` leaves the underlying buffer's length
//!    at `begin + n` (when its first `begin` bytes were initialised). A fixed-length buffer
//!    (`Box<[u8]>`) keeps its length: use the returned count. A read that fails gives the
//!    buffer back as it was.
//! 4. Writes send the initialised part, `[0, bytes_init)`.
//! 5. Lengths handed to the kernel are clamped to [`MAX_RW_COUNT`]; callers who need everything
//!    moved use the `*_all` helpers, which loop over short transfers.
//!
//! Buffers: `Vec<u8>`, `Box<[u8]>`, `&'static [u8]`/`&'static str`, [`aligned`] and
//! [`fixed`] buffers, slices of any of them; with the `bytes` feature, `bytes::Bytes`
//! (written from) and `bytes::BytesMut` (read into and written from).
//!
//! This module is plain data. The two kinds that register with a core's ring, [`fixed`]
//! buffers and [`provided`] buffer rings, are implemented next to the driver and re-exported
//! here under their public paths.

pub mod aligned;
#[cfg(feature = "bytes")]
mod bytes;
mod copy;
mod slice;

// Buffers registered with a ring live next to the driver they register with; their public
// paths stay here.
pub use crate::driver::registered::{fixed, provided};

pub use copy::{fill_from, filled};
pub use slice::Slice;

use std::io;
use std::ops::{Bound, RangeBounds};
use std::rc::Rc;
use std::sync::Arc;

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
/// Only *owned* buffers qualify: the kernel reads the memory after the submitting call has
/// returned, so a borrowed `&[u8]` or `&Vec<u8>` cannot be used (only `'static` data can).
/// Move the buffer in and get it back from the [`BufResult`]; to send part of it, pass
/// `buf.slice(..n)`. Implemented for `Vec<u8>`, `Box<[u8]>`, `String`, `Box<str>`, `Rc<[u8]>`,
/// `Arc<[u8]>` (share one cached body between many writes without copying), `&'static [u8]`,
/// `&'static str`, [`Slice`], [`AlignedBuf`](aligned::AlignedBuf) and
/// [`FixedBuf`](fixed::FixedBuf).
///
/// # Safety
///
/// - `stable_ptr` must point to `bytes_total()` bytes of memory owned by `self`, of which the
///   first `bytes_init()` are initialised.
/// - That memory must stay valid and at the same address when `self` is moved, and must not be
///   freed or reallocated except by dropping `self` or through `&mut self` methods.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned buffer: ringbolt I/O takes buffers by value",
    label = "owned buffers only",
    note = "the kernel uses the buffer after this call returns, so pass an owned `Vec<u8>`, `Box<[u8]>`, `String`, `Rc<[u8]>`, ... by value and take it back from the returned `(result, buf)`",
    note = "to write part of a buffer use `buf.slice(..n)`; for a cheap shared copy use `Rc<[u8]>` or `Arc<[u8]>`"
)]
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
/// Like [`IoBuf`], owned buffers only: instead of `read(&mut buf)`, write
/// `let (res, buf) = stream.read(buf).await;`. A read fills up to the buffer's capacity and
/// leaves it holding exactly the bytes read (module rules 2 and 3); to read at most `n` bytes,
/// pass `buf.slice(..n)`. Implemented for `Vec<u8>`, `Box<[u8]>`, [`Slice`],
/// [`AlignedBuf`](aligned::AlignedBuf) and [`FixedBuf`](fixed::FixedBuf).
///
/// # Safety
///
/// Everything [`IoBuf`] requires, and `stable_mut_ptr` must point to the same memory as
/// `stable_ptr`, writable for `bytes_total()` bytes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned, writable buffer: ringbolt reads into buffers taken by value",
    label = "owned buffers only",
    note = "the kernel writes into the buffer after this call returns: instead of `read(&mut buf)` write `let (res, buf) = stream.read(buf).await;` with a `Vec<u8>` (it fills up to its capacity)",
    note = "to read at most `n` bytes use `buf.slice(..n)`"
)]
pub unsafe trait IoBufMut: IoBuf {
    /// Mutable pointer to the start of the buffer.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Records that a read wrote the first `pos` bytes: afterwards the buffer's initialised
    /// length is exactly `pos` for buffers with a variable length (a `Vec`'s `len` becomes
    /// `pos`, shrinking if it was longer), so no stale bytes from an earlier use stay visible.
    /// Fixed-length buffers (`Box<[u8]>`) are always fully initialised and ignore it.
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
    #[inline]
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    #[inline]
    fn bytes_init(&self) -> usize {
        self.len()
    }
    #[inline]
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: as for IoBuf; as_mut_ptr covers the whole capacity.
unsafe impl IoBufMut for Vec<u8> {
    #[inline]
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    #[inline]
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: the caller guarantees pos <= capacity and that the first pos bytes are
        // initialised; shrinking the length is always sound for u8.
        unsafe { self.set_len(pos) };
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

// SAFETY: a String's heap block does not move when the String moves; the op owns it, so it is
// not reallocated while in flight. Only read through (no IoBufMut: reads could break UTF-8).
unsafe impl IoBuf for String {
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

// SAFETY: a boxed str's heap block does not move with the Box and is never resized.
unsafe impl IoBuf for Box<str> {
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

// SAFETY: the slice lives in the Rc's heap allocation, which does not move and is not freed
// while this handle (owned by the op) is alive; `[u8]` behind an Rc is immutable, so other
// handles cannot change it while the kernel reads.
unsafe impl IoBuf for Rc<[u8]> {
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

// SAFETY: as for Rc<[u8]>: a stable, immutable heap allocation kept alive by this handle.
unsafe impl IoBuf for Arc<[u8]> {
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
#[inline]
pub(crate) fn clamp_len(len: usize) -> u32 {
    len.min(MAX_RW_COUNT) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_set_init_sets_exact_len() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abcd");
        // SAFETY: 2 <= capacity and the first 2 bytes are initialised.
        unsafe { v.set_init(2) };
        assert_eq!(
            &v[..],
            b"ab",
            "a shorter read must not leave stale bytes visible"
        );
        v.extend_from_slice(b"cd");
        let p = v.stable_mut_ptr();
        // SAFETY: p points to 16 writable bytes.
        unsafe { std::ptr::write_bytes(p.add(4), b'x', 4) };
        // SAFETY: 8 bytes are now initialised and 8 <= 16.
        unsafe { v.set_init(8) };
        assert_eq!(&v[..], b"abcdxxxx");
    }

    #[test]
    fn shared_and_string_buffers() {
        fn view<B: IoBuf>(b: &B) -> &[u8] {
            // SAFETY: stable_ptr points to bytes_init() initialised bytes owned by b.
            unsafe { std::slice::from_raw_parts(b.stable_ptr(), b.bytes_init()) }
        }
        let s = String::from("héllo");
        assert_eq!(view(&s), "héllo".as_bytes());
        assert_eq!(s.bytes_total(), s.len());
        let b: Box<str> = "abc".into();
        assert_eq!(view(&b), b"abc");
        let rc: Rc<[u8]> = Rc::from(&b"cached body"[..]);
        let rc2 = rc.clone();
        assert_eq!(view(&rc2), b"cached body");
        assert_eq!(
            rc2.stable_ptr(),
            rc.stable_ptr(),
            "a clone shares, not copies"
        );
        let arc: Arc<[u8]> = Arc::from(&b"xyz"[..]);
        assert_eq!(view(&arc.clone().slice(1..)), b"yz");
    }

    #[test]
    fn clamp() {
        assert_eq!(clamp_len(10), 10);
        assert_eq!(clamp_len(usize::MAX), MAX_RW_COUNT as u32);
    }
}
