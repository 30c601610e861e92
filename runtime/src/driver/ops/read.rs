use super::nowait;
use crate::buf::{clamp_len, BufResult, IoBufMut};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::cell::Cell;
use std::io;

/// `IORING_OP_READ`: reads into an owned buffer from its start, up to its capacity.
///
/// `offset` is a file position, or `u64::MAX` for the fd's current position (sockets, pipes).
/// The length is clamped to [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT); a short read is not an
/// error. `Ok(0)` from a non-empty buffer means end of file.
///
/// The read is first tried at once with `preadv2(RWF_NOWAIT)`, which never blocks, and goes to
/// the ring only when that would block (a page-cache miss, an empty pipe); the result is the
/// same either way. Adaptive per fd, never on `O_DIRECT` files: see
/// [`SharedFd::set_inline_io`]. When a positional read got part of its range at once and the
/// rest would block, the ring reads the rest and the op reports the sum, as one `pread` would.
pub struct Read<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
    /// Bytes already read inline; the SQE reads the rest.
    done: usize,
    /// The caller's refusal ([`Read::op_checked`]): `validate` hands it out, and the op
    /// completes with it before any attempt or SQE.
    refused: Cell<Option<io::Error>>,
}

impl<B: IoBufMut> Read<B> {
    /// A read op on `fd` at `offset`.
    #[inline]
    pub fn op(fd: &SharedFd, buf: B, offset: u64) -> Op<Read<B>> {
        Read::op_checked(fd, buf, offset, Ok(()))
    }

    /// A read op on `fd` at `offset` that the caller has checked: with `check` an error, the
    /// op completes with that error and gives the buffer back, and nothing reaches the kernel.
    /// One future type either way, so a wrapper refusing bad arguments (a misaligned direct
    /// read) adds no layer to the op.
    #[inline]
    pub fn op_checked(fd: &SharedFd, buf: B, offset: u64, check: io::Result<()>) -> Op<Read<B>> {
        Op::new(Read {
            fd: fd.clone(),
            buf,
            offset,
            done: 0,
            refused: Cell::new(check.err()),
        })
    }
}

// SAFETY: the SQE points into `self.buf`, an IoBufMut whose memory is stable while the op
// owns it, wherever the op moves (the INLINE promise); the fd stays open because the op holds a
// SharedFd clone. `try_inline` reads with RWF_NOWAIT, which cannot block, and reports the count.
unsafe impl<B: IoBufMut> OpCode for Read<B> {
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
        let asked = clamp_len(self.buf.bytes_total()) as usize;
        // SAFETY: the buffer's `bytes_total` bytes from its stable pointer are writable memory
        // the op owns (IoBufMut), and `asked` does not exceed them.
        let n = unsafe {
            nowait::attempt_read(&self.fd, self.buf.stable_mut_ptr(), asked, self.offset)
        }?;
        if nowait::read_is_complete(n, asked, self.offset) {
            return Some(Ok(n as u32));
        }
        // Part of the range was in the page cache: the ring reads the rest.
        self.done = n;
        None
    }
    #[inline]
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_total()) - self.done as u32;
        // `done` bytes were read inline; `done` <= the clamped length (try_inline).
        let ptr = self.buf.stable_mut_ptr().wrapping_add(self.done);
        let offset = match self.offset {
            u64::MAX => u64::MAX,
            o => o + self.done as u64,
        };
        opcode::Read::new(types::Fd(self.fd.raw()), ptr, len)
            .offset(offset)
            .build()
    }
    #[inline(always)]
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        let Read {
            mut buf,
            done,
            refused,
            ..
        } = self;
        match cqe.result {
            Ok(n) => {
                // A count means `validate` ran and took any refusal: nothing left to drop.
                debug_assert!(refused.take().is_none());
                std::mem::forget(refused);
                let asked = clamp_len(buf.bytes_total()) as usize;
                // Trust no count beyond what was asked for: a kernel (or an injected fault)
                // that reported more never wrote past the length we passed.
                let n = done + (n as usize).min(asked - done);
                // SAFETY: the kernel wrote n bytes from the start of the buffer (done inline,
                // the rest through the SQE right after them), and n <= asked <= bytes_total.
                unsafe { buf.set_init(n) };
                (Ok(n), buf)
            }
            Err(e) => complete_err(e, refused.into_inner(), done, buf),
        }
    }
}

/// The error side of [`Read::complete`], out of line: a refusal not yet handed out (the op
/// was cancelled before its first poll) replaces the `ECANCELED`, and what was read inline
/// before an error stands, as a short read (pread's own rule).
#[cold]
#[inline(never)]
fn complete_err<B: IoBufMut>(
    e: io::Error,
    refused: Option<io::Error>,
    done: usize,
    mut buf: B,
) -> BufResult<usize, B> {
    if let Some(refused) = refused {
        return (Err(refused), buf);
    }
    if done > 0 {
        // SAFETY: `done` bytes were read inline from the start of the buffer, and
        // done <= the clamped length <= bytes_total (try_inline).
        unsafe { buf.set_init(done) };
        return (Ok(done), buf);
    }
    (Err(e), buf)
}
