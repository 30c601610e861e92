use super::nowait;
use crate::buf::{clamp_len, BufResult, IoBuf};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::cell::Cell;
use std::io;

/// `IORING_OP_WRITE`: writes the initialised part of an owned buffer.
///
/// `offset` is a file position, or `u64::MAX` for the fd's current position (append, pipes).
/// The length is clamped to [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT); the result may be short.
/// Sockets should use the net crate's send op, which sets `MSG_NOSIGNAL`.
///
/// The write is first tried at once with `pwritev2(RWF_NOWAIT)`, which never blocks, and goes
/// to the ring only when that would block (a full pipe; buffered file writes on filesystems
/// without non-blocking support, such as ext4, turn the attempts off at the first `EOPNOTSUPP`).
/// A partial inline write is finished by the ring and the op reports the sum. Adaptive per fd,
/// never on `O_DIRECT` files: see [`SharedFd::set_inline_io`].
pub struct Write<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
    /// Bytes already written inline; the SQE writes the rest.
    done: usize,
    /// The caller's refusal ([`Write::op_checked`]): `validate` hands it out, and the op
    /// completes with it before any attempt or SQE.
    refused: Cell<Option<io::Error>>,
}

impl<B: IoBuf> Write<B> {
    /// A write op on `fd` at `offset`.
    #[inline]
    pub fn op(fd: &SharedFd, buf: B, offset: u64) -> Op<Write<B>> {
        Write::op_checked(fd, buf, offset, Ok(()))
    }

    /// A write op on `fd` at `offset` that the caller has checked: with `check` an error, the
    /// op completes with that error and gives the buffer back, and nothing reaches the kernel.
    /// One future type either way, so a wrapper refusing bad arguments (a misaligned direct
    /// write) adds no layer to the op.
    #[inline]
    pub fn op_checked(fd: &SharedFd, buf: B, offset: u64, check: io::Result<()>) -> Op<Write<B>> {
        Op::new(Write {
            fd: fd.clone(),
            buf,
            offset,
            done: 0,
            refused: Cell::new(check.err()),
        })
    }
}

// SAFETY: the SQE points into `self.buf`, an IoBuf whose memory is stable while the op
// owns it, wherever the op moves (the INLINE promise); the fd stays open because the op holds a
// SharedFd clone. `try_inline` writes with RWF_NOWAIT, which cannot block, and reports the count.
unsafe impl<B: IoBuf> OpCode for Write<B> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    #[inline]
    fn validate(&self) -> io::Result<()> {
        self.refused.take().map_or(Ok(()), Err)
    }
    #[inline]
    fn try_inline(&mut self) -> Option<io::Result<u32>> {
        // The driver first, before anything of the op is loaded: while the ring batches
        // (queue depth 32 and more) this is all an op pays.
        if !nowait::allowed() {
            return None;
        }
        let len = clamp_len(self.buf.bytes_init()) as usize;
        let ptr = self.buf.stable_ptr();
        // SAFETY: the buffer's `bytes_init` bytes from its stable pointer are initialised
        // memory the op owns (IoBuf); the kernel only reads them.
        let n = unsafe { nowait::attempt_write(&self.fd, ptr, len, self.offset) }?;
        if n == len || n == 0 {
            return Some(Ok(n as u32));
        }
        // A partial write (the rest would block): the ring writes the rest.
        self.done = n;
        None
    }
    #[inline]
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_init()) - self.done as u32;
        // `done` bytes were written inline; `done` < the clamped length (try_inline).
        let ptr = self.buf.stable_ptr().wrapping_add(self.done);
        let offset = match self.offset {
            u64::MAX => u64::MAX,
            o => o + self.done as u64,
        };
        opcode::Write::new(types::Fd(self.fd.raw()), ptr, len)
            .offset(offset)
            .build()
    }
    #[inline(always)]
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        let Write {
            buf, done, refused, ..
        } = self;
        match cqe.result {
            Ok(n) => {
                // A count means `validate` ran and took any refusal: nothing left to drop.
                debug_assert!(refused.take().is_none());
                std::mem::forget(refused);
                (Ok(done + n as usize), buf)
            }
            Err(e) => match refused.into_inner() {
                // Cancelled before its first poll: the refusal, not `ECANCELED`.
                Some(refused) => (Err(refused), buf),
                // What was written inline stands, as a short write (pwrite's own rule).
                None if done > 0 => (Ok(done), buf),
                None => (Err(e), buf),
            },
        }
    }
}
