//! [`Socket`]: the one socket every public type wraps, with the ops they share.

use crate::carry::{Carry, VecSink};
use crate::stream_io::{ReadFuture, WriteAllFuture, WriteFuture};
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
use ringbolt_runtime::ops::net::{
    Accept, AcceptDirect, Connect, Recv, RecvMsg, RecvMsgOut, Send as SendOp, SendMsg, SendTo,
    SendZc, Shutdown, SockAddr,
};
use ringbolt_runtime::ops::Readv;
use ringbolt_runtime::{DirectFd, Op, OpCode, RingFd, Salvage, SharedFd};
use std::cell::OnceCell;
use std::fmt;
use std::io;
use std::net::Shutdown as How;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;

/// An owned socket fd shared by the ops in flight on it (see [`SharedFd`]), or a direct
/// descriptor in the ring's fixed-file table ([`DirectFd`]), with the [`Carry`] that keeps
/// what its dropped reads and accepts completed (made on first use and shared by every
/// handle: a clone makes it first).
pub(crate) struct Socket<F = SharedFd> {
    fd: F,
    carry: OnceCell<Rc<Carry>>,
}

impl<F: Clone> Clone for Socket<F> {
    fn clone(&self) -> Socket<F> {
        Socket {
            fd: self.fd.clone(),
            carry: OnceCell::from(self.carry().clone()),
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Socket<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket").field("fd", &self.fd).finish()
    }
}

impl<F> Socket<F> {
    /// The carry-over state of this socket's dropped reads and accepts.
    #[inline]
    pub(crate) fn carry(&self) -> &Rc<Carry> {
        self.carry.get_or_init(|| Rc::new(Carry::new()))
    }

    /// The fd (shared or direct) the ops name.
    #[inline]
    pub(crate) fn fd(&self) -> &F {
        &self.fd
    }

    /// The carry, if one was made: none means nothing was ever read or accepted.
    pub(crate) fn carry_if_made(&self) -> Option<&Rc<Carry>> {
        self.carry.get()
    }
}

impl Socket {
    /// Takes ownership of an open socket.
    pub(crate) fn from_fd(fd: OwnedFd) -> Socket {
        Socket {
            fd: SharedFd::new(fd),
            carry: OnceCell::new(),
        }
    }

    /// Takes ownership of a `socket2` socket.
    pub(crate) fn from_socket2(s: socket2::Socket) -> Socket {
        Socket::from_fd(OwnedFd::from(s))
    }

    /// The fd, if this is its only holder (no op in flight, no other handle) and no bytes a
    /// cancelled read received are held for the next read; `self` back otherwise.
    pub(crate) fn try_into_owned(self) -> Result<OwnedFd, Socket> {
        if self.carry.get().is_some_and(|c| c.holds_data()) {
            return Err(self);
        }
        let carry = self.carry;
        self.fd.try_into_owned().map_err(|fd| Socket { fd, carry })
    }

    /// A borrowed `socket2` view, for socket options.
    pub(crate) fn sock_ref(&self) -> socket2::SockRef<'_> {
        socket2::SockRef::from(&self.fd)
    }

    /// Whether two handles name the same socket.
    pub(crate) fn same_as(&self, other: &Socket) -> bool {
        self.fd.raw() == other.fd.raw()
    }

    pub(crate) async fn connect(&self, addr: SockAddr) -> io::Result<()> {
        Connect::op(&self.fd, addr).await
    }

    /// Accepts one connection: first one a dropped accept took from the backlog (its peer's
    /// address is `None` when that accept did not report it), else a new accept. Dropping the
    /// future loses nothing: a connection the kernel accepted anyway is kept for the next one.
    pub(crate) async fn accept(&self) -> io::Result<(Socket, Option<SockAddr>)> {
        let carry = self.carry();
        if !carry.is_quiet() {
            carry.settled().await;
            if let Some((fd, addr)) = carry.take_conn() {
                return Ok((Socket::from_fd(fd), addr));
            }
        }
        let (fd, addr) = Accept::op(&self.fd).salvage(carry.clone()).await?;
        Ok((Socket::from_fd(fd), Some(addr)))
    }

    /// Accepts one connection into the ring's direct-descriptor table.
    pub(crate) async fn accept_direct(&self) -> io::Result<(Socket<DirectFd>, SockAddr)> {
        let (fd, addr) = AcceptDirect::op(&self.fd).await?;
        Ok((Socket::from_direct(fd), addr))
    }

    pub(crate) fn shared_fd(&self) -> &SharedFd {
        &self.fd
    }

    /// Scatter read into several buffers; cancel-safe as [`read`](Self::read).
    pub(crate) async fn readv<B: IoBufMut>(&self, mut bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        if bufs.iter().all(|b| b.bytes_total() == 0) {
            return (Ok(0), bufs);
        }
        let carry = self.carry();
        if !carry.is_quiet() {
            carry.settled().await;
            if let Some(res) = carry.take_into_bufs(&mut bufs) {
                return (res, bufs);
            }
        }
        // A sink of its own per call: readv is off the hot path and boxes its state anyway.
        let sink = Rc::new(VecSink(carry.clone()));
        Readv::op(&self.fd, bufs, u64::MAX).salvage(sink).await
    }

    /// Gather write from several buffers (`sendmsg` with `MSG_NOSIGNAL`).
    pub(crate) async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        if bufs.iter().all(|b| b.bytes_init() == 0) {
            return (Ok(0), bufs);
        }
        SendMsg::op(&self.fd, bufs, None, 0).await
    }

    /// Sends one datagram to `addr`.
    pub(crate) async fn send_to<B: IoBuf>(&self, buf: B, addr: SockAddr) -> BufResult<usize, B> {
        SendTo::op(&self.fd, buf, addr, 0).await
    }

    /// Receives one datagram with its sender and its full length (`MSG_TRUNC`).
    pub(crate) async fn recv_msg<B: IoBufMut>(&self, buf: B) -> BufResult<RecvMsgOut, B> {
        RecvMsg::op(&self.fd, buf, libc::MSG_TRUNC).await
    }

    /// Closes the fd once every other handle and in-flight op is gone.
    pub(crate) async fn close(self) -> io::Result<()> {
        self.fd.close().await
    }
}

/// The stream I/O both kinds of socket share.
impl<F: RingFd> Socket<F> {
    /// One `recv`: no short-cut, so a datagram socket consumes a datagram even into an empty
    /// buffer.
    pub(crate) async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        Recv::op(&self.fd, buf, 0).await
    }

    /// One `send` (with `MSG_NOSIGNAL`).
    pub(crate) async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        SendOp::op(&self.fd, buf, 0).await
    }

    /// A stream read: an empty buffer returns `Ok(0)` without touching the socket. Cancel-safe
    /// (see [`Carry`]): bytes held from a dropped read come first, and the bytes this read
    /// receives after its future is dropped are held for the next one.
    #[inline]
    pub(crate) fn read<B: IoBufMut>(&self, buf: B) -> ReadFuture<'_, B, F> {
        ReadFuture::new(self, buf)
    }

    /// A stream read that gives up after `timeout`: the op is cancelled and its final
    /// completion awaited, so the buffer comes back, with the data if the data won the race.
    pub(crate) async fn read_timeout<B: IoBufMut>(
        &self,
        mut buf: B,
        timeout: std::time::Duration,
    ) -> BufResult<usize, B> {
        use ringbolt_runtime::time::timeout_at;
        if buf.bytes_total() == 0 {
            return (Ok(0), buf);
        }
        // One deadline for the wait on a parked read and for the read itself.
        let deadline = std::time::Instant::now().checked_add(timeout);
        let carry = self.carry();
        if !carry.is_quiet() {
            let settled = match deadline {
                Some(d) => timeout_at(d, carry.settled()).await.is_ok(),
                None => {
                    carry.settled().await;
                    true
                }
            };
            if !settled {
                return (Err(timed_out(timeout)), buf);
            }
            if let Some(res) = carry.take_into(&mut buf) {
                return (res, buf);
            }
        }
        // The carry becomes the op's sink only if this future is dropped with the op in
        // flight (as in `ReadFuture`): attaching it up front would box the op's state.
        let mut op = SalvageOnDrop {
            op: Recv::op(&self.fd, buf, 0),
            sink: carry,
        };
        let Some(deadline) = deadline else {
            // A timeout too long to represent never passes.
            return (&mut op.op).await;
        };
        if let Ok(out) = timeout_at(deadline, &mut op.op).await {
            return out;
        }
        op.op.cancel();
        match (&mut op.op).await {
            (Err(e), buf) if e.raw_os_error() == Some(libc::ECANCELED) => {
                (Err(timed_out(timeout)), buf)
            }
            // The read completed before the cancellation took effect: its result stands.
            out => out,
        }
    }

    /// Fills the whole capacity of `buf`, or fails with `UnexpectedEof`.
    pub(crate) async fn read_exact<B: IoBufMut>(&self, mut buf: B) -> BufResult<(), B> {
        let total = buf.bytes_total();
        let mut filled = 0;
        while filled < total {
            let (res, slice) = self.read(buf.slice(filled..)).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("end of stream after {filled} of {total} bytes"),
                    );
                    return (Err(e), buf);
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// A stream write: an empty buffer returns `Ok(0)` without touching the socket.
    #[inline]
    pub(crate) fn write<B: IoBuf>(&self, buf: B) -> WriteFuture<'_, B, F> {
        WriteFuture::new(self, buf)
    }

    /// Sends the whole initialised part of `buf`, looping over short sends.
    #[inline]
    pub(crate) fn write_all<B: IoBuf>(&self, buf: B) -> WriteAllFuture<'_, B, F> {
        WriteAllFuture::new(self, buf)
    }

    /// One zero-copy send (with `MSG_NOSIGNAL`): resolves once the kernel's notification says
    /// it no longer reads the buffer. An empty buffer returns `Ok(0)` at once.
    pub(crate) async fn send_zc<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        if buf.bytes_init() == 0 {
            return (Ok(0), buf);
        }
        SendZc::op(&self.fd, buf, 0).await
    }

    /// Sends the whole initialised part of `buf` with zero-copy sends. `MSG_WAITALL` makes the
    /// kernel retry short sends itself, so one op (one notification) normally carries it all;
    /// the loop only resumes after an interruption.
    pub(crate) async fn write_all_zc<B: IoBuf>(&self, mut buf: B) -> BufResult<(), B> {
        let len = buf.bytes_init();
        let mut done = 0;
        while done < len {
            let (res, slice) = SendZc::op(&self.fd, buf.slice(done..len), libc::MSG_WAITALL).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "socket accepted no bytes");
                    return (Err(e), buf);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    pub(crate) async fn shutdown(&self, how: How) -> io::Result<()> {
        Shutdown::op(&self.fd, how).await
    }
}

impl Socket<DirectFd> {
    /// Takes ownership of a direct descriptor.
    pub(crate) fn from_direct(fd: DirectFd) -> Socket<DirectFd> {
        Socket {
            fd,
            carry: OnceCell::new(),
        }
    }

    /// The direct descriptor.
    pub(crate) fn direct_fd(&self) -> &DirectFd {
        &self.fd
    }

    /// Closes the slot once every other handle and in-flight op is gone.
    pub(crate) async fn close(self) -> io::Result<()> {
        self.fd.close().await
    }
}

/// The error of a read that timed out.
fn timed_out(timeout: std::time::Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("read timed out after {timeout:?}"),
    )
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// An op that hands its output to `sink` if it is dropped while in flight (see
/// [`Op::set_salvage`]); the sink is attached only then, so the op's state stays inline.
struct SalvageOnDrop<'a, T: OpCode>
where
    Carry: Salvage<T::Output>,
{
    op: Op<T>,
    sink: &'a Rc<Carry>,
}

impl<T: OpCode> Drop for SalvageOnDrop<'_, T>
where
    Carry: Salvage<T::Output>,
{
    fn drop(&mut self) {
        if self.op.is_in_flight() {
            self.op.set_salvage(self.sink.clone());
        }
    }
}
