use super::addr::PeerAddr;
use super::SockAddr;
use crate::buf::provided::{BufRing, ProvidedBuf};
use crate::buf::{clamp_len, BufResult, IoBufMut};
use crate::driver::ops::direct::{target, RingFd};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use crate::driver::{MultiOp, MultishotOpCode};
use io_uring::{opcode, squeue::Entry, types};
use std::io;
use std::mem;

/// `IORING_OP_RECV`: receives into an owned buffer from its start, up to its capacity.
///
/// On a stream socket `Ok(0)` from a non-empty buffer means the peer shut down its write side.
/// On a datagram socket the excess of a longer datagram is discarded (pass `MSG_TRUNC` in
/// `flags` to get the datagram's real length back; the buffer then holds only what fit).
/// The socket is a [`SharedFd`] or a [`DirectFd`](crate::DirectFd).
pub struct Recv<B, F = SharedFd> {
    fd: F,
    buf: B,
    flags: i32,
}

impl<B: IoBufMut, F: RingFd> Recv<B, F> {
    /// A recv op on `fd` with `recv(2)` flags.
    pub fn op(fd: &F, buf: B, flags: i32) -> Op<Recv<B, F>> {
        Op::new(Recv {
            fd: fd.clone(),
            buf,
            flags,
        })
    }

    /// The buffer the recv fills (reachable through [`Op::unsubmitted_mut`] until the op is
    /// submitted).
    #[inline]
    pub fn buf_mut(&mut self) -> &mut B {
        &mut self.buf
    }
}

// SAFETY: the SQE points into `self.buf`, an IoBufMut whose memory is stable while the op
// owns it, wherever the op moves (the INLINE promise); the socket stays open because the op
// holds a clone of its handle.
unsafe impl<B: IoBufMut, F: RingFd> OpCode for Recv<B, F> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    #[inline]
    fn validate(&self) -> io::Result<()> {
        self.fd.check_ring()
    }
    fn build(&mut self) -> Entry {
        let len = clamp_len(self.buf.bytes_total());
        target::<F>(
            opcode::Recv::new(types::Fd(self.fd.sqe_fd()), self.buf.stable_mut_ptr(), len)
                .flags(self.flags)
                .build(),
        )
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        let mut buf = self.buf;
        let total = buf.bytes_total();
        let res = cqe.result.map(|n| {
            // With MSG_TRUNC the kernel reports a datagram's full length, which may exceed
            // what it wrote; it never writes past the length we passed.
            let written = (n as usize).min(total);
            // SAFETY: the kernel wrote `written` bytes from the start of the buffer, and
            // written <= bytes_total.
            unsafe { buf.set_init(written) };
            n as usize
        });
        (res, buf)
    }
}

/// What [`RecvMsg`] reports besides the data.
#[derive(Debug, Clone)]
pub struct RecvMsgOut {
    /// The kernel's result: bytes received, or with `MSG_TRUNC` in the flags the datagram's
    /// full length (possibly more than the buffer holds).
    pub len: usize,
    /// The returned `msg_flags` (`MSG_TRUNC` if the datagram did not fit).
    pub msg_flags: i32,
    /// The sender's address (length 0 and family `AF_UNSPEC` where the kernel reports none,
    /// as on a connected stream socket).
    pub addr: SockAddr,
}

impl RecvMsgOut {
    /// Whether the datagram was longer than the buffer (`MSG_TRUNC` in `msg_flags`).
    pub fn is_truncated(&self) -> bool {
        self.msg_flags & libc::MSG_TRUNC != 0
    }
}

/// `IORING_OP_RECVMSG` into one owned buffer, with the sender's address and `msg_flags`.
pub struct RecvMsg<B> {
    fd: SharedFd,
    buf: B,
    iovec: libc::iovec,
    addr: PeerAddr,
    msg: libc::msghdr,
    flags: u32,
}

impl<B: IoBufMut> RecvMsg<B> {
    /// A recvmsg op on `fd` with `recvmsg(2)` flags.
    pub fn op(fd: &SharedFd, buf: B, flags: i32) -> Op<RecvMsg<B>> {
        Op::new(RecvMsg {
            fd: fd.clone(),
            buf,
            iovec: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            },
            addr: PeerAddr::new(),
            // SAFETY: msghdr is a plain C struct for which all-zero bytes are valid.
            msg: unsafe { mem::zeroed() },
            flags: flags as u32,
        })
    }
}

// SAFETY: the msghdr, the iovec, the address storage and the buffer are all owned by the boxed
// op until the final CQE; the socket stays open because the op holds a SharedFd clone.
unsafe impl<B: IoBufMut> OpCode for RecvMsg<B> {
    type Output = BufResult<RecvMsgOut, B>;
    fn build(&mut self) -> Entry {
        self.iovec = libc::iovec {
            iov_base: self.buf.stable_mut_ptr().cast(),
            iov_len: clamp_len(self.buf.bytes_total()) as usize,
        };
        let (name, _) = self.addr.as_out();
        self.msg.msg_name = name.cast();
        self.msg.msg_namelen = self.addr.capacity();
        self.msg.msg_iov = &mut self.iovec;
        self.msg.msg_iovlen = 1;
        opcode::RecvMsg::new(types::Fd(self.fd.raw()), &mut self.msg)
            .flags(self.flags)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<RecvMsgOut, B> {
        let this = self;
        let mut buf = this.buf;
        let addr = this.addr;
        let res = cqe.result.map(|n| {
            let written = (n as usize).min(this.iovec.iov_len);
            // SAFETY: the kernel wrote `written` bytes from the start of the buffer, and
            // written <= iov_len <= bytes_total.
            unsafe { buf.set_init(written) };
            RecvMsgOut {
                len: n as usize,
                msg_flags: this.msg.msg_flags,
                addr: addr.into_sock_addr(this.msg.msg_namelen),
            }
        });
        (res, buf)
    }
}

/// Multishot `IORING_OP_RECV` (6.0+) with buffers picked by the kernel from a [`BufRing`]:
/// one SQE, one CQE per chunk of data received.
///
/// Items: `Ok(Some(buf))` with data, `Ok(None)` at end of stream (the stream then ends), or an
/// error. `ENOBUFS` means every ring buffer is out: drop some and re-arm (back-pressure, not
/// end of stream). The stream may also end without an error; re-arm to go on. Buffers filled
/// after the stream was dropped go straight back to the ring.
pub struct RecvMulti {
    fd: SharedFd,
    ring: BufRing,
}

impl RecvMulti {
    /// A multishot receive on `fd` selecting buffers from `ring`.
    pub fn op(fd: &SharedFd, ring: &BufRing) -> MultiOp<RecvMulti> {
        MultiOp::new(RecvMulti {
            fd: fd.clone(),
            ring: ring.clone(),
        })
    }
}

// SAFETY: the SQE carries the fd number and a buffer-group id; the ring's memory stays
// registered and allocated while the op holds its BufRing handle, and the socket stays open
// because the op holds a SharedFd clone.
unsafe impl MultishotOpCode for RecvMulti {
    type Item = io::Result<Option<ProvidedBuf>>;
    fn validate(&self) -> io::Result<()> {
        // The SQE names only a group id: it must be this ring's group on this core's ring.
        self.ring.check_owner()
    }
    fn build(&mut self) -> Entry {
        opcode::RecvMulti::new(types::Fd(self.fd.raw()), self.ring.bgid()).build()
    }
    // Inline: called once per chunk received, from `MultiOp::poll_next`. The hot case (data
    // in a buffer of this ring) is a few compares; the rest is out of line.
    #[inline(always)]
    fn next(&mut self, cqe: CqeResult) -> Self::Item {
        if let (Ok(n), Some(bid)) = (&cqe.result, cqe.buffer_id()) {
            if *n != 0 && self.ring.holds(bid) {
                // The id comes from this CQE of an op that selected from `self.ring` on the
                // ring that registered it (`validate` checked the core before submission),
                // each CQE is turned into an item exactly once, and `holds` checked the id.
                // SAFETY: `take_held`'s contract, just stated, holds here.
                return Ok(Some(unsafe { self.ring.take_held(bid, *n as usize) }));
            }
        }
        self.next_cold(cqe)
    }
    // `next` on the CQE as posted: the hot case (data in a buffer of this ring) reads the
    // result and flags directly, building no `CqeResult`; everything else goes to `next_cold`,
    // as from `next`.
    #[inline(always)]
    fn next_raw(&mut self, res: i32, flags: u32) -> Self::Item {
        if res > 0 {
            if let Some(bid) = io_uring::cqueue::buffer_select(flags) {
                if self.ring.holds(bid) {
                    // The id comes from this CQE of an op that selected from `self.ring` on
                    // the ring that registered it (`validate` checked the core before
                    // submission), each CQE is turned into an item exactly once, `res` is
                    // the byte count it reports, and `holds` checked the id.
                    // SAFETY: `take_held`'s contract, just stated, holds here.
                    return Ok(Some(unsafe { self.ring.take_held(bid, res as usize) }));
                }
            }
        }
        self.next_cold(CqeResult::from_raw(res, flags))
    }
}

impl RecvMulti {
    /// [`next`](MultishotOpCode::next) for every CQE but data in a buffer: end of stream,
    /// errors, a buffer id outside the ring.
    #[cold]
    #[inline(never)]
    fn next_cold(&mut self, cqe: CqeResult) -> io::Result<Option<ProvidedBuf>> {
        // The id comes from this CQE of an op that selected from `self.ring` on the
        // ring that registered it (`validate` checked the core before submission), and each
        // CQE is turned into an item exactly once. A CQE that names a buffer but carries no
        // data (end of stream, an error) still hands it back: taking it and dropping it
        // returns it to the ring.
        let bid = cqe.buffer_id();
        match cqe.result {
            Ok(n) => match bid {
                Some(bid) => {
                    // SAFETY: the invariants just stated hold here.
                    let buf = unsafe { self.ring.take(bid, n as usize) };
                    if n == 0 {
                        return Ok(None);
                    }
                    buf.map(Some)
                }
                None if n == 0 => Ok(None),
                None => Err(io::Error::other(
                    "multishot recv completed without a buffer",
                )),
            },
            Err(e) => {
                if let Some(bid) = bid {
                    // SAFETY: the invariants stated above hold here.
                    drop(unsafe { self.ring.take(bid, 0) });
                }
                Err(e)
            }
        }
    }
}
