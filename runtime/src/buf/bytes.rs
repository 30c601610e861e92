//! `bytes::Bytes` and `bytes::BytesMut` as I/O buffers (feature `bytes`).
//!
//! A [`Bytes`] is a read-only view, so it can be written from but not read into; a
//! [`BytesMut`] works both ways: as with `Vec<u8>`, a read fills it from its start up to its
//! capacity and leaves it holding exactly the bytes read (to append, read into
//! `buf.slice(buf.len()..)`).

use super::{IoBuf, IoBufMut};
use bytes::{Bytes, BytesMut};

// SAFETY: a Bytes' data lives in a heap block (or 'static memory) that moving the handle does
// not move; it is immutable and freed only when the last handle to it is dropped, and this
// handle is owned by the op until its final CQE.
unsafe impl IoBuf for Bytes {
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

// SAFETY: a BytesMut's buffer is a heap block that moving the handle does not move; it is
// reallocated only through &mut methods (reserve, extend, split), which nobody can call while
// an op owns the value.
unsafe impl IoBuf for BytesMut {
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

// SAFETY: as for IoBuf; the pointer starts the same block and is writable for the whole
// capacity.
unsafe impl IoBufMut for BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // Like Vec: after a read the buffer holds exactly the bytes read (buf/mod.rs rule 3).
        // SAFETY: the caller guarantees pos <= capacity and that the first pos bytes are
        // initialised; shrinking the length is always sound.
        unsafe { self.set_len(pos) };
    }
}
