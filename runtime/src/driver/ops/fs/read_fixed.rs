use crate::buf::fixed::FixedIoBuf;
use crate::buf::{clamp_len, BufResult, IoBufMut};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};

/// `IORING_OP_READ_FIXED`: reads into a registered buffer (a
/// [`FixedBuf`](crate::buf::fixed::FixedBuf) or a slice of one) from its start, up to its
/// capacity.
///
/// Same contract as [`Read`](crate::ops::Read): the length is clamped to
/// [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT), a short read is not an error, and `Ok(0)` from a
/// non-empty buffer means end of file. A buffer registered with another ring fails with
/// `EFAULT`.
pub struct ReadFixed<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: FixedIoBuf + IoBufMut> ReadFixed<B> {
    /// A fixed read op on `fd` at `offset`.
    pub fn op(fd: &SharedFd, buf: B, offset: u64) -> Op<ReadFixed<B>> {
        Op::new(ReadFixed {
            fd: fd.clone(),
            buf,
            offset,
        })
    }
}

// SAFETY: the SQE points into `self.buf`, owned by the boxed op; its memory is stable and stays
// registered while the buffer lives (FixedIoBuf contract). The fd stays open because the op
// holds a SharedFd clone.
unsafe impl<B: FixedIoBuf + IoBufMut> OpCode for ReadFixed<B> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_total());
        let index = self.buf.buf_index();
        opcode::ReadFixed::new(
            types::Fd(self.fd.raw()),
            self.buf.stable_mut_ptr(),
            len,
            index,
        )
        .offset(self.offset)
        .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        let mut buf = self.buf;
        let asked = clamp_len(buf.bytes_total()) as usize;
        let res = cqe.result.map(|n| {
            // Trust no count beyond what was asked for: a kernel (or an injected fault) that
            // reported more never wrote past the length we passed.
            let n = (n as usize).min(asked);
            // SAFETY: the kernel wrote n bytes from the start of the buffer, and n <= the
            // length we passed <= bytes_total.
            unsafe { buf.set_init(n) };
            n
        });
        (res, buf)
    }
}
