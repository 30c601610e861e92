use crate::buf::{clamp_len, BufResult, IoBuf};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};

/// `IORING_OP_WRITE`: writes the initialised part of an owned buffer.
///
/// `offset` is a file position, or `u64::MAX` for the fd's current position (append, pipes).
/// The length is clamped to [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT); the result may be short.
/// Sockets should use the net crate's send op, which sets `MSG_NOSIGNAL`.
pub struct Write<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBuf> Write<B> {
    /// A write op on `fd` at `offset`.
    pub fn op(fd: &SharedFd, buf: B, offset: u64) -> Op<Write<B>> {
        Op::new(Write {
            fd: fd.clone(),
            buf,
            offset,
        })
    }
}

// SAFETY: the SQE points into `self.buf`, an IoBuf whose memory is stable while the op
// owns it, wherever the op moves (the INLINE promise); the fd stays open because the op holds a SharedFd clone.
unsafe impl<B: IoBuf> OpCode for Write<B> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_init());
        opcode::Write::new(types::Fd(self.fd.raw()), self.buf.stable_ptr(), len)
            .offset(self.offset)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}
