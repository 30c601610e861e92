use super::{iovecs, SockAddr};
use crate::buf::{clamp_len, BufResult, IoBuf};
use crate::driver::ops::direct::{target, RingFd};
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::io;
use std::mem;

/// `IORING_OP_SEND`: sends the initialised part of an owned buffer on a connected socket.
///
/// `MSG_NOSIGNAL` is always added to `flags`: a closed peer gives `EPIPE`, never `SIGPIPE`.
/// The length is clamped to [`MAX_RW_COUNT`](crate::buf::MAX_RW_COUNT); the result may be short.
/// The socket is a [`SharedFd`] or a [`DirectFd`](crate::DirectFd).
pub struct Send<B, F = SharedFd> {
    fd: F,
    buf: B,
    flags: i32,
    /// Bytes of `buf` the send skips (see [`Send::op_from`]).
    start: usize,
}

impl<B: IoBuf, F: RingFd> Send<B, F> {
    /// A send op on `fd` with `send(2)` flags (`MSG_NOSIGNAL` is added).
    #[inline]
    pub fn op(fd: &F, buf: B, flags: i32) -> Op<Send<B, F>> {
        Self::op_from(fd, buf, 0, flags)
    }

    /// A send of the initialised bytes of `buf` past its first `start` ones (all of them when
    /// `start` is zero, none when it is at or past the end): the rest after a short send,
    /// without a [`Slice`](crate::buf::Slice) around the buffer, so every send of a
    /// `write_all` is the same op type. The output counts the bytes sent from `start` on and
    /// hands back the whole buffer.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ringbolt_runtime::ops::net::Send;
    /// # async fn f(fd: ringbolt_runtime::SharedFd) {
    /// let (res, buf) = Send::op(&fd, b"hello".to_vec(), 0).await;
    /// if let Ok(n @ 1..=4) = res {
    ///     // A short send: send the rest.
    ///     let (_res, _buf) = Send::op_from(&fd, buf, n, 0).await;
    /// }
    /// # }
    /// ```
    #[inline]
    pub fn op_from(fd: &F, buf: B, start: usize, flags: i32) -> Op<Send<B, F>> {
        Op::new(Send {
            fd: fd.clone(),
            buf,
            flags: flags | libc::MSG_NOSIGNAL,
            start,
        })
    }
}

// SAFETY: the SQE points into `self.buf`, an IoBuf whose memory is stable while the op
// owns it, wherever the op moves (the INLINE promise); the socket stays open because the op
// holds a clone of its handle.
unsafe impl<B: IoBuf, F: RingFd> OpCode for Send<B, F> {
    type Output = BufResult<usize, B>;
    // INLINE: the SQE's only pointer is into the buffer's heap memory (IoBuf: stable when moved).
    const INLINE: bool = true;
    #[inline]
    fn validate(&self) -> io::Result<()> {
        self.fd.check_ring()
    }
    fn build(&mut self) -> Entry {
        let init = self.buf.bytes_init();
        let start = self.start.min(init);
        let len = clamp_len(init - start);
        // In bounds of the buffer's initialised bytes (`start <= init`): no `unsafe` needed.
        let ptr = self.buf.stable_ptr().wrapping_add(start);
        target::<F>(
            opcode::Send::new(types::Fd(self.fd.sqe_fd()), ptr, len)
                .flags(self.flags)
                .build(),
        )
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}

/// `IORING_OP_SENDMSG`: gather-sends the initialised parts of several owned buffers, to `addr`
/// if given (unconnected datagram sockets) or to the connected peer.
///
/// `MSG_NOSIGNAL` is always added. At most 1024 buffers take part (`IOV_MAX`). On a datagram
/// socket the buffers form one datagram; zero buffers (or empty ones) send an empty datagram.
pub struct SendMsg<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    addr: Option<SockAddr>,
    msg: libc::msghdr,
    flags: u32,
}

impl<B: IoBuf> SendMsg<B> {
    /// A sendmsg op on `fd` with `sendmsg(2)` flags (`MSG_NOSIGNAL` is added).
    pub fn op(fd: &SharedFd, bufs: Vec<B>, addr: Option<SockAddr>, flags: i32) -> Op<SendMsg<B>> {
        Op::new(SendMsg {
            fd: fd.clone(),
            bufs,
            iovecs: Vec::new(),
            addr,
            // SAFETY: msghdr is a plain C struct for which all-zero bytes are valid (null
            // pointers, zero lengths).
            msg: unsafe { mem::zeroed() },
            flags: (flags | libc::MSG_NOSIGNAL) as u32,
        })
    }
}

// SAFETY: the msghdr, the iovec array, the address and every buffer it points to are owned by
// the boxed op (the Vecs' heap blocks do not move) until the final CQE; the kernel only reads
// through these pointers.
unsafe impl<B: IoBuf> OpCode for SendMsg<B> {
    type Output = BufResult<usize, Vec<B>>;
    fn build(&mut self) -> Entry {
        self.iovecs = iovecs(
            self.bufs
                .iter()
                .map(|b| (b.stable_ptr().cast_mut(), b.bytes_init())),
        );
        self.msg.msg_iov = self.iovecs.as_mut_ptr();
        self.msg.msg_iovlen = self.iovecs.len() as _;
        if let Some(addr) = &self.addr {
            self.msg.msg_name = addr.as_ptr().cast_mut().cast();
            self.msg.msg_namelen = addr.len();
        }
        opcode::SendMsg::new(types::Fd(self.fd.raw()), &self.msg)
            .flags(self.flags)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, Vec<B>> {
        (cqe.result.map(|n| n as usize), self.bufs)
    }
}

/// `IORING_OP_SENDMSG` of one owned buffer to an address: `sendto(2)` for unconnected datagram
/// sockets. `MSG_NOSIGNAL` is always added; an empty buffer sends an empty datagram.
pub struct SendTo<B> {
    fd: SharedFd,
    buf: B,
    iovec: libc::iovec,
    addr: SockAddr,
    msg: libc::msghdr,
    flags: u32,
}

impl<B: IoBuf> SendTo<B> {
    /// A send-to op on `fd` with `sendmsg(2)` flags (`MSG_NOSIGNAL` is added).
    pub fn op(fd: &SharedFd, buf: B, addr: SockAddr, flags: i32) -> Op<SendTo<B>> {
        Op::new(SendTo {
            fd: fd.clone(),
            buf,
            iovec: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            },
            addr,
            // SAFETY: msghdr is a plain C struct for which all-zero bytes are valid.
            msg: unsafe { mem::zeroed() },
            flags: (flags | libc::MSG_NOSIGNAL) as u32,
        })
    }
}

// SAFETY: the msghdr, the iovec, the address and the buffer are owned by the boxed op until the
// final CQE; the kernel only reads through these pointers.
unsafe impl<B: IoBuf> OpCode for SendTo<B> {
    type Output = BufResult<usize, B>;
    fn build(&mut self) -> Entry {
        self.iovec = libc::iovec {
            iov_base: self.buf.stable_ptr().cast_mut().cast(),
            iov_len: clamp_len(self.buf.bytes_init()) as usize,
        };
        self.msg.msg_iov = &mut self.iovec;
        self.msg.msg_iovlen = 1;
        self.msg.msg_name = self.addr.as_ptr().cast_mut().cast();
        self.msg.msg_namelen = self.addr.len();
        opcode::SendMsg::new(types::Fd(self.fd.raw()), &self.msg)
            .flags(self.flags)
            .build()
    }
    fn complete(self, cqe: CqeResult) -> BufResult<usize, B> {
        (cqe.result.map(|n| n as usize), self.buf)
    }
}
