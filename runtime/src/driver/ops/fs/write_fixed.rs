use crate::buf::fixed::FixedIoBuf;
use crate::buf::{clamp_len, BufResult};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};

/// `IORING_OP_WRITE_FIXED`: writes the initialised part of a registered buffer (a
/// [`FixedBuf`](crate::buf::fixed::FixedBuf) or a slice of one).
///
/// Same contract as [`Write`](crate::ops::Write): the length is clamped to
/// [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT) and the result may be short. A buffer registered
/// with another ring fails with `EFAULT`.
pub struct WriteFixed<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: FixedIoBuf> WriteFixed<B> {
    /// A fixed write op on `fd` at `offset`.
    pub fn op(fd: &SharedFd, buf: B, offset: u64) -> Op<WriteFixed<B>> {
        Op::new(WriteFixed {
            fd: fd.clone(),
            buf,
            offset,
        })
    }
}

// SAFETY: the SQE points into `self.buf`, owned by the boxed op; its memory is stable and stays
// registered while the buffer lives (FixedIoBuf contract). The fd stays open because the op
// holds a SharedFd clone.
unsafe impl<B: FixedIoBuf> OpCode for WriteFixed<B> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_init());
        opcode::WriteFixed::new(
            types::Fd(self.fd.raw()),
            self.buf.stable_ptr(),
            len,
            self.buf.buf_index(),
        )
        .offset(self.offset)
        .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}
