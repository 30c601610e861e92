use crate::buf::{clamp_len, BufResult, IoBuf};
use crate::driver::current as context;
use crate::driver::ops::direct::{target, RingFd};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;

/// `IORING_OP_SEND_ZC` (Linux 6.0+): sends the initialised part of an owned buffer on a
/// connected socket **without copying it** into the kernel; the NIC reads the pages directly.
///
/// The kernel posts two completions: the send's result (with `IORING_CQE_F_MORE`), and later a
/// notification that it no longer reads the buffer (after the data left, for TCP once it was
/// acknowledged). The op resolves, and hands the buffer back, only after the notification:
/// the bytes must not change before that. A future dropped in flight leaves the buffer with
/// the driver until the notification arrives (see [`Op`]).
///
/// `MSG_NOSIGNAL` is always added. The length is clamped to
/// [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT); without `MSG_WAITALL` in `flags` a stream
/// socket may take only part of the buffer (the count says how much).
///
/// Where zero copy pays: large sends (tens of KiB and up) on a NIC with scatter-gather. On
/// loopback, and to Unix sockets, the kernel copies anyway, so a plain [`Send`](super::Send)
/// is cheaper there (and Unix sockets refuse it: `Unsupported`).
///
/// The socket is a [`SharedFd`] or a [`DirectFd`](crate::DirectFd).
pub struct SendZc<B, F = SharedFd> {
    fd: F,
    buf: B,
    flags: i32,
}

impl<B: IoBuf, F: RingFd> SendZc<B, F> {
    /// A zero-copy send op on `fd` with `send(2)` flags (`MSG_NOSIGNAL` is added).
    pub fn op(fd: &F, buf: B, flags: i32) -> Op<SendZc<B, F>> {
        Op::new(SendZc {
            fd: fd.clone(),
            buf,
            flags: flags | libc::MSG_NOSIGNAL,
        })
    }
}

impl SendZc<(), SharedFd> {
    /// Whether the current core's kernel has `IORING_OP_SEND_ZC` (false outside a runtime).
    pub fn is_supported() -> bool {
        context::try_with_driver(|d| d.is_supported(opcode::SendZc::CODE)).unwrap_or(false)
    }
}

/// The error a zero-copy send gets where the kernel or the socket lacks the feature.
#[cold]
fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("zero-copy send (IORING_OP_SEND_ZC) {what}; use a plain write/write_all instead"),
    )
}

// SAFETY: the SQE's only pointer is into `self.buf`, an IoBuf whose memory is stable while the
// op owns it, wherever the op moves (the INLINE promise). The driver keeps the op (and so the
// buffer) until the final CQE, which for SEND_ZC is the notification that the kernel is done
// reading the pages (the result CQE carries F_MORE and does not end the op). The socket stays
// open because the op holds a clone of its handle.
unsafe impl<B: IoBuf, F: RingFd> OpCode for SendZc<B, F> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    fn validate(&self) -> io::Result<()> {
        match context::try_with_driver(|d| d.is_supported(opcode::SendZc::CODE)) {
            Ok(false) => Err(unsupported(
                "is not supported by this kernel (Linux 6.0+ is needed)",
            )),
            // Outside a runtime the submission reports its own error.
            _ => self.fd.check_ring(),
        }
    }
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_init());
        target::<F>(
            opcode::SendZc::new(types::Fd(self.fd.sqe_fd()), self.buf.stable_ptr(), len)
                .flags(self.flags)
                .build(),
        )
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        let res = match cqe.result {
            Ok(n) => Ok(n as usize),
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Err(unsupported(
                "is not supported on this socket (TCP and UDP only)",
            )),
            Err(e) => Err(e),
        };
        (res, self.buf)
    }
}
