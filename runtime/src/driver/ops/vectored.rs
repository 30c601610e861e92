use crate::buf::{BufResult, IoBuf, IoBufMut, MAX_RW_COUNT};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};

/// Builds iovecs over the buffers, capping the total at MAX_RW_COUNT and the count at IOV_MAX.
pub(crate) fn iovecs(ptrs: impl Iterator<Item = (*mut u8, usize)>) -> Vec<libc::iovec> {
    let mut total = 0usize;
    let mut out = Vec::new();
    for (ptr, len) in ptrs.take(1024) {
        let len = len.min(MAX_RW_COUNT - total);
        out.push(libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        });
        total += len;
        if total == MAX_RW_COUNT {
            break;
        }
    }
    out
}

/// `IORING_OP_READV`: scatter read into several owned buffers, in order, each up to its
/// capacity. At most 1024 buffers take part (`IOV_MAX`).
pub struct Readv<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBufMut> Readv<B> {
    /// A vectored read on `fd` at `offset` (`u64::MAX`: current position).
    pub fn op(fd: &SharedFd, bufs: Vec<B>, offset: u64) -> Op<Readv<B>> {
        Op::new(Readv {
            fd: fd.clone(),
            bufs,
            iovecs: Vec::new(),
            offset,
        })
    }
}

// SAFETY: the iovec array and every buffer it points to are owned by the boxed op (the Vec's
// heap block does not move) until the final CQE.
unsafe impl<B: IoBufMut> OpCode for Readv<B> {
    type Output = BufResult<usize, Vec<B>>;
    // INLINE: the iovec array and the buffers it points at are heap memory the op owns.
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        self.iovecs = iovecs(
            self.bufs
                .iter_mut()
                .map(|b| (b.stable_mut_ptr(), b.bytes_total())),
        );
        opcode::Readv::new(
            types::Fd(self.fd.raw()),
            self.iovecs.as_ptr(),
            self.iovecs.len() as u32,
        )
        .offset(self.offset)
        .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, Vec<B>> {
        let mut bufs = self.bufs;
        let res = cqe.result.map(|n| {
            let mut left = n as usize;
            for (b, iov) in bufs.iter_mut().zip(self.iovecs.iter()) {
                let k = left.min(iov.iov_len);
                // SAFETY: the kernel filled the iovecs in order; k bytes of this one.
                unsafe { b.set_init(k) };
                left -= k;
            }
            n as usize
        });
        (res, bufs)
    }
}

/// `IORING_OP_WRITEV`: gather write of the initialised parts of several owned buffers.
pub struct Writev<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBuf> Writev<B> {
    /// A vectored write on `fd` at `offset` (`u64::MAX`: current position).
    pub fn op(fd: &SharedFd, bufs: Vec<B>, offset: u64) -> Op<Writev<B>> {
        Op::new(Writev {
            fd: fd.clone(),
            bufs,
            iovecs: Vec::new(),
            offset,
        })
    }
}

// SAFETY: as for Readv; the kernel only reads through these pointers.
unsafe impl<B: IoBuf> OpCode for Writev<B> {
    type Output = BufResult<usize, Vec<B>>;
    // INLINE: the iovec array and the buffers it points at are heap memory the op owns.
    const INLINE: bool = true;
    fn build(&mut self) -> Entry {
        self.iovecs = iovecs(
            self.bufs
                .iter()
                .map(|b| (b.stable_ptr().cast_mut(), b.bytes_init())),
        );
        opcode::Writev::new(
            types::Fd(self.fd.raw()),
            self.iovecs.as_ptr(),
            self.iovecs.len() as u32,
        )
        .offset(self.offset)
        .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, Vec<B>> {
        (cqe.result.map(|n| n as usize), self.bufs)
    }
}
