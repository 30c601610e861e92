//! Safe copies between owned buffers and byte slices, for layers that hold no `unsafe`: `net`
//! keeps the bytes a cancelled read received and copies them into the next read's buffer.

use super::{IoBuf, IoBufMut};

/// The initialised bytes of `buf`, `[0, bytes_init)`: what a write would send, and what a read
/// left in it (module rule 3).
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::buf::{filled, IoBuf};
/// let s = b"hello world".to_vec().slice(6..);
/// assert_eq!(filled(&s), b"world");
/// ```
pub fn filled<B: IoBuf>(buf: &B) -> &[u8] {
    // SAFETY: by the IoBuf contract, `stable_ptr` points to `bytes_init()` initialised bytes
    // owned by `buf`, which the returned borrow keeps alive and unmodified.
    unsafe { std::slice::from_raw_parts(buf.stable_ptr(), buf.bytes_init()) }
}

/// Copies the start of `data` into `buf` from its start, up to its capacity, and records it
/// as a read of that many bytes would (module rule 3: a `Vec` then holds exactly those bytes).
/// Returns the count, `min(data.len(), buf.bytes_total())`.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::buf::fill_from;
/// let mut buf = Vec::with_capacity(4);
/// assert_eq!(fill_from(&mut buf, b"abcdef"), 4);
/// assert_eq!(&buf[..], b"abcd");
/// ```
pub fn fill_from<B: IoBufMut>(buf: &mut B, data: &[u8]) -> usize {
    let n = data.len().min(buf.bytes_total());
    // SAFETY: `stable_mut_ptr` is writable for `bytes_total() >= n` bytes (IoBufMut contract)
    // and cannot overlap `data`, which is borrowed while `buf` is borrowed mutably.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.stable_mut_ptr(), n) };
    // SAFETY: the first `n` bytes were just written, and n <= bytes_total().
    unsafe { buf.set_init(n) };
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_from_a_slice_keeps_the_prefix() {
        let mut v = b"head".to_vec();
        v.reserve(8);
        let mut s = v.slice(4..8);
        assert_eq!(fill_from(&mut s, b"tail!"), 4);
        assert_eq!(filled(&s), b"tail");
        assert_eq!(&s.into_inner()[..], b"headtail");
    }

    #[test]
    fn fill_from_a_fixed_buffer_keeps_its_length() {
        let mut b: Box<[u8]> = vec![0u8; 6].into_boxed_slice();
        assert_eq!(fill_from(&mut b, b"xy"), 2);
        assert_eq!(&b[..], b"xy\0\0\0\0");
    }
}
