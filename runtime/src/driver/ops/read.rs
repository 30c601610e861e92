use crate::buf::{clamp_len, BufResult, IoBufMut};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};

/// `IORING_OP_READ`: reads into an owned buffer from its start, up to its capacity.
///
/// `offset` is a file position, or `u64::MAX` for the fd's current position (sockets, pipes).
/// The length is clamped to [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT); a short read is not an
/// error. `Ok(0)` from a non-empty buffer means end of file.
pub struct Read<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBufMut> Read<B> {
    /// A read op on `fd` at `offset`.
    pub fn op(fd: &SharedFd, buf: B, offset: u64) -> Op<Read<B>> {
        Op::new(Read {
            fd: fd.clone(),
            buf,
            offset,
        })
    }
}

// SAFETY: the SQE points into `self.buf`, an IoBufMut whose memory is stable while the op
// owns it, wherever the op moves (the INLINE promise); the fd stays open because the op holds a SharedFd clone.
unsafe impl<B: IoBufMut> OpCode for Read<B> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_total());
        opcode::Read::new(types::Fd(self.fd.raw()), self.buf.stable_mut_ptr(), len)
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
