//! Hand-written futures for the hot stream paths: [`ReadFuture`] (a cancel-safe `read`),
//! [`WriteFuture`] (`write`) and [`WriteAllFuture`] (`write_all`).
//!
//! They do what the `async fn`s they replace did, one flat state machine each: no nested
//! async state machines, no big future moved into another on every call, and the op built and
//! polled in place (each builds its op when the future is made and submits it on the first
//! poll; no state is moved out and back on the way, and an op that must not reach the ring,
//! for an empty buffer or a read the carry serves, is cancelled before submission, which
//! completes it at once and hands its buffer back). Rules:
//! 1. A read keeps the [`Carry`](crate::carry::Carry) protocol: when the carry is not quiet it first waits for the
//!    parked reads to settle and takes what they held, and only then submits; a read op
//!    dropped in flight gets the carry as its salvage sink (see `carry.rs`). The sink is
//!    attached when the future is dropped with its op in flight, the only time the op hands
//!    it anything: a read that completes never touches the carry's count.
//! 2. The op lives in the future until it completes; dropping the future drops the op, which
//!    hands an in-flight op to the driver (and its result to the carry, for a read).
//! 3. A finished future is never polled again by well-behaved callers; if it is, it panics
//!    (as an `async fn` would, or as a completed `Op` does), without touching the ring.

use crate::socket::Socket;
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
use ringbolt_runtime::ops::net::{Recv, Send as SendOp};
use ringbolt_runtime::{Op, RingFd};
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The future of a stream read; see [`Socket::read`].
pub(crate) struct ReadFuture<'a, B: IoBufMut, F: RingFd> {
    sock: &'a Socket<F>,
    /// The recv, built with the future and submitted by its first poll that finds the carry
    /// quiet; completed at once (cancelled before submission) when the buffer is empty or the
    /// carry fills it. It stays until the future is dropped (a completed op too: one drop,
    /// not two), so the future is just the op and the socket.
    op: Op<Recv<B, F>>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBufMut, F: RingFd> Unpin for ReadFuture<'_, B, F> {}

impl<'a, B: IoBufMut, F: RingFd> ReadFuture<'a, B, F> {
    #[inline]
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        ReadFuture {
            sock,
            // Built now, submitted on the first poll (as every `Op`).
            op: Recv::op(sock.fd(), buf, 0),
        }
    }

    /// Before the recv's submission, when the buffer is empty or the carry is not quiet (rule
    /// 1): waits for the carry to settle, then the result served without the ring, if any
    /// (the op is then cancelled before submission, so its next poll completes it at once and
    /// hands the buffer back). `Ready(None)`: the recv goes to the ring. Out of line: a read
    /// the carry serves is the rare case.
    #[cold]
    #[inline(never)]
    fn serve_without_ring(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<usize>>> {
        let Some(recv) = self.op.unsubmitted_mut() else {
            return Poll::Ready(None);
        };
        let buf = recv.buf_mut();
        let res = if buf.bytes_total() == 0 {
            Some(Ok(0))
        } else {
            // No carry yet: nothing was ever dropped in flight on this socket.
            match self.sock.carry_if_made().filter(|c| !c.is_quiet()) {
                Some(carry) => {
                    ready!(carry.poll_settled(cx));
                    carry.take_into(buf)
                }
                None => None,
            }
        };
        if res.is_some() {
            self.op.cancel();
        }
        Poll::Ready(res)
    }
}

impl<B: IoBufMut, F: RingFd> Future for ReadFuture<'_, B, F> {
    type Output = BufResult<usize, B>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut served = None;
        if let Some(recv) = this.op.unsubmitted_mut() {
            let carry_busy = this.sock.carry_if_made().is_some_and(|c| !c.is_quiet());
            if carry_busy || recv.buf_mut().bytes_total() == 0 {
                served = ready!(this.serve_without_ring(cx));
            }
        }
        // The one place the op is polled (so it is inlined here): it submits the recv, takes
        // its completion, or completes at once when cancelled before submission (and panics
        // if it completed before).
        let (res, buf) = ready!(Pin::new(&mut this.op).poll(cx));
        match served {
            // Served without the ring: the op's own result is the cancellation.
            Some(served) => Poll::Ready((served, buf)),
            None => Poll::Ready((res, buf)),
        }
    }
}

impl<B: IoBufMut, F: RingFd> ReadFuture<'_, B, F> {
    /// Gives the op in flight the carry as its sink (rule 1); the op's drop then parks it.
    /// Out of line: a read dropped in flight is the rare case.
    #[cold]
    #[inline(never)]
    fn drop_in_flight(&mut self) {
        self.op.set_salvage(self.sock.carry().clone());
    }
}

impl<B: IoBufMut, F: RingFd> Drop for ReadFuture<'_, B, F> {
    #[inline]
    fn drop(&mut self) {
        // An op in flight hands its result to the carry (rule 1): it gets the sink now, the
        // only time it can use it. (A forgotten future never gets here; its op is leaked and
        // hands nothing on, as a forgotten `Op` with a sink would.)
        if self.op.is_in_flight() {
            self.drop_in_flight();
        }
    }
}

/// The send of a write or `write_all`, built now and submitted on the first poll (as every
/// `Op`); an empty buffer's send is cancelled before submission, so it completes at once
/// without the ring.
#[inline]
fn send_op<B: IoBuf, F: RingFd>(sock: &Socket<F>, buf: B) -> Op<SendOp<B, F>> {
    let empty = buf.bytes_init() == 0;
    let mut op = SendOp::op(sock.fd(), buf, 0);
    if empty {
        op.cancel();
    }
    op
}

/// The future of a stream write; see [`Socket::write`].
pub(crate) struct WriteFuture<'a, B: IoBuf, F: RingFd> {
    /// The send, from when the future is made until it is dropped (a completed op stays). An
    /// empty buffer's send is cancelled before submission: it completes at once, without the
    /// ring.
    op: Op<SendOp<B, F>>,
    _sock: PhantomData<&'a Socket<F>>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBuf, F: RingFd> Unpin for WriteFuture<'_, B, F> {}

impl<'a, B: IoBuf, F: RingFd> WriteFuture<'a, B, F> {
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        let op = send_op(sock, buf);
        WriteFuture {
            op,
            _sock: PhantomData,
        }
    }
}

impl<B: IoBuf, F: RingFd> Future for WriteFuture<'_, B, F> {
    type Output = BufResult<usize, B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Polling a completed op again panics, as polling a finished `Op` does.
        let (res, buf) = ready!(Pin::new(&mut self.get_mut().op).poll(cx));
        // An empty buffer's send never reached the ring (its only result is the cancellation).
        match res {
            Err(_) if buf.bytes_init() == 0 => Poll::Ready((Ok(0), buf)),
            res => Poll::Ready((res, buf)),
        }
    }
}

/// The future of a `write_all`; see [`Socket::write_all`].
///
/// One op type for every send: the first sends the whole buffer, as given; after a short send,
/// a send of the rest ([`SendOp::op_from`]) replaces it, on the same buffer. So the future is
/// just its op, the socket and the bytes already sent, and its drop is the op's (one compare
/// once the op completed).
pub(crate) struct WriteAllFuture<'a, B: IoBuf, F: RingFd> {
    sock: &'a Socket<F>,
    /// The current send (a completed op stays until the future is dropped or the next send
    /// replaces it). An empty buffer's send is cancelled before submission: it completes at
    /// once, without the ring.
    op: Op<SendOp<B, F>>,
    /// Bytes sent before the current send (its start in the buffer).
    done: usize,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBuf, F: RingFd> Unpin for WriteAllFuture<'_, B, F> {}

impl<'a, B: IoBuf, F: RingFd> WriteAllFuture<'a, B, F> {
    #[inline]
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        let op = send_op(sock, buf);
        WriteAllFuture { sock, op, done: 0 }
    }

    /// Goes on after the current send ended with `res`: the output if the buffer is all sent
    /// or the send failed, else `None` with a send of the rest in place. Out of line: the hot
    /// path is a first send that completed in full.
    #[inline(never)]
    fn resume(&mut self, res: io::Result<usize>, buf: B) -> Option<BufResult<(), B>> {
        let len = buf.bytes_init();
        if len == 0 {
            // An empty buffer: its send never reached the ring (its only result is the
            // cancellation), and there is nothing to send.
            return Some((Ok(()), buf));
        }
        let done = match res {
            Ok(0) => {
                let e = io::Error::new(io::ErrorKind::WriteZero, "socket accepted no bytes");
                return Some((Err(e), buf));
            }
            Ok(n) => self.done + n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.done,
            Err(e) => return Some((Err(e), buf)),
        };
        if done >= len {
            // The completed op stays in place until the future is dropped.
            return Some((Ok(()), buf));
        }
        // A short send: a send of the rest replaces the completed op.
        self.done = done;
        self.op = SendOp::op_from(self.sock.fd(), buf, done, 0);
        None
    }
}

impl<B: IoBuf, F: RingFd> Future for WriteAllFuture<'_, B, F> {
    type Output = BufResult<(), B>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            // Polling a completed op again panics, as polling a finished `Op` does.
            let (res, buf) = ready!(Pin::new(&mut this.op).poll(cx));
            // The hot path: all sent at once. (After a short send, the rest's send returns
            // fewer than `bytes_init` bytes, so it never passes here.)
            if let Ok(n) = res {
                let len = buf.bytes_init();
                if n >= len && len != 0 {
                    return Poll::Ready((Ok(()), buf));
                }
            }
            if let Some(out) = this.resume(res, buf) {
                return Poll::Ready(out);
            }
        }
    }
}
