//! A by-value view of part of an owned buffer.

use super::{IoBuf, IoBufMut};
use std::ops::{Deref, DerefMut};

/// Part `[begin, end)` of an owned buffer, itself usable as a buffer.
///
/// Operations on a `Slice` read or write only inside its range; [`Slice::into_inner`] returns
/// the whole buffer. The `*_all` helpers use it to send the rest of a buffer after a short write.
#[derive(Debug)]
pub struct Slice<T> {
    buf: T,
    begin: usize,
    end: usize,
}

impl<T: IoBuf> Slice<T> {
    pub(crate) fn new(buf: T, begin: usize, end: usize) -> Self {
        Slice { buf, begin, end }
    }

    /// Offset of the start of this view in the underlying buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Offset just past the end of this view in the underlying buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The underlying buffer.
    pub fn get_ref(&self) -> &T {
        &self.buf
    }

    /// Gives the whole underlying buffer back.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

// SAFETY: the view points inside the inner buffer, whose memory is stable by its own contract;
// begin <= end <= inner.bytes_total() is checked when the Slice is made.
unsafe impl<T: IoBuf> IoBuf for Slice<T> {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: begin <= bytes_total, so the offset stays inside (or one past) the allocation.
        unsafe { self.buf.stable_ptr().add(self.begin) }
    }
    fn bytes_init(&self) -> usize {
        self.buf
            .bytes_init()
            .min(self.end)
            .saturating_sub(self.begin)
    }
    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: as for IoBuf; writes stay inside [begin, end) of the inner buffer.
unsafe impl<T: IoBufMut> IoBufMut for Slice<T> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: begin <= bytes_total, so the offset stays inside the allocation.
        unsafe { self.buf.stable_mut_ptr().add(self.begin) }
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // The inner buffer ends up holding [0, begin + pos): what was before the view plus what
        // was read (buf/mod.rs rule 3). Only when everything before the view is initialised
        // already; otherwise [bytes_init, begin) would be claimed initialised without being so.
        if self.buf.bytes_init() >= self.begin {
            // SAFETY: [0, begin) is initialised (checked above) and the caller guarantees
            // [begin, begin + pos); begin + pos <= end <= bytes_total.
            unsafe { self.buf.set_init(self.begin + pos) };
        }
    }
}

impl<T: IoBuf> Deref for Slice<T> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: stable_ptr points to bytes_init() initialised bytes owned by the inner buffer.
        unsafe { std::slice::from_raw_parts(self.stable_ptr(), self.bytes_init()) }
    }
}

impl<T: IoBufMut> DerefMut for Slice<T> {
    fn deref_mut(&mut self) -> &mut [u8] {
        let len = self.bytes_init();
        // SAFETY: as for Deref, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.stable_mut_ptr(), len) }
    }
}
