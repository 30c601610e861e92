//! Hand-written futures for the hot stream paths: [`ReadFuture`] (a cancel-safe `read`),
//! [`WriteFuture`] (`write`) and [`WriteAllFuture`] (`write_all`).
//!
//! They do what the `async fn`s they replace did, one flat state machine each: no nested
//! async state machines, no big future moved into another on every call, and the op built and
//! polled in place (a write builds its op when the future is made, a read on its first poll;
//! no state is moved out and back on the way). Rules:
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
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut, Slice};
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
    /// The buffer until the recv is made (on the first poll, or once the parked reads
    /// settled); `None` from then on.
    buf: Option<B>,
    /// The recv, from the poll that submits it until the future is dropped (a completed op
    /// stays: one drop, not two).
    op: Option<Op<Recv<B, F>>>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBufMut, F: RingFd> Unpin for ReadFuture<'_, B, F> {}

impl<'a, B: IoBufMut, F: RingFd> ReadFuture<'a, B, F> {
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        ReadFuture {
            sock,
            buf: Some(buf),
            op: None,
        }
    }
}

impl<B: IoBufMut, F: RingFd> Future for ReadFuture<'_, B, F> {
    type Output = BufResult<usize, B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The hot case: the recv is made. Polling it after it completed panics, as polling
        // a finished `Op` does.
        if let Some(op) = &mut this.op {
            return Pin::new(op).poll(cx);
        }
        let Some(buf) = &mut this.buf else {
            panic!("ringbolt read future polled after it completed");
        };
        if buf.bytes_total() != 0 {
            // No carry yet: nothing was ever dropped in flight on this socket.
            if let Some(carry) = this.sock.carry_if_made().filter(|c| !c.is_quiet()) {
                ready!(carry.poll_settled(cx));
                if let Some(res) = carry.take_into(buf) {
                    let Some(buf) = this.buf.take() else {
                        unreachable!("matched the buffer above")
                    };
                    return Poll::Ready((res, buf));
                }
            }
            let Some(buf) = this.buf.take() else {
                unreachable!("matched the buffer above")
            };
            let op = this.op.insert(Recv::op(this.sock.fd(), buf, 0));
            return Pin::new(op).poll(cx);
        }
        let Some(buf) = this.buf.take() else {
            unreachable!("matched the buffer above")
        };
        Poll::Ready((Ok(0), buf))
    }
}

impl<B: IoBufMut, F: RingFd> ReadFuture<'_, B, F> {
    /// Drops the op in flight with the carry as its sink (rule 1). Out of line: a read
    /// dropped in flight is the rare case.
    #[cold]
    #[inline(never)]
    fn drop_in_flight(&mut self) {
        let sink = self.sock.carry().clone();
        if let Some(op) = self.op.take() {
            drop(op.salvage(sink));
        }
    }
}

impl<B: IoBufMut, F: RingFd> Drop for ReadFuture<'_, B, F> {
    #[inline]
    fn drop(&mut self) {
        // An op in flight hands its result to the carry (rule 1): it gets the sink now, the
        // only time it can use it. (A forgotten future never gets here; its op is leaked and
        // hands nothing on, as a forgotten `Op` with a sink would.)
        if self.op.as_ref().is_some_and(Op::is_in_flight) {
            self.drop_in_flight();
        }
    }
}

/// A write's op, or the empty buffer it returns without one.
enum WriteState<O, B> {
    /// The send, from when the future is made until it is dropped (a completed op stays).
    Op(O),
    /// The buffer had nothing to send: returned by the first poll.
    Empty(Option<B>),
}

/// The future of a stream write; see [`Socket::write`].
pub(crate) struct WriteFuture<'a, B: IoBuf, F: RingFd> {
    state: WriteState<Op<SendOp<B, F>>, B>,
    _sock: PhantomData<&'a Socket<F>>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBuf, F: RingFd> Unpin for WriteFuture<'_, B, F> {}

impl<'a, B: IoBuf, F: RingFd> WriteFuture<'a, B, F> {
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        let state = if buf.bytes_init() == 0 {
            WriteState::Empty(Some(buf))
        } else {
            // Built now, submitted on the first poll (as every `Op`).
            WriteState::Op(SendOp::op(sock.fd(), buf, 0))
        };
        WriteFuture {
            state,
            _sock: PhantomData,
        }
    }
}

impl<B: IoBuf, F: RingFd> Future for WriteFuture<'_, B, F> {
    type Output = BufResult<usize, B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            // As in `ReadFuture`: the completed op stays until the future is dropped.
            WriteState::Op(op) => Pin::new(op).poll(cx),
            WriteState::Empty(buf) => match buf.take() {
                Some(buf) => Poll::Ready((Ok(0), buf)),
                None => panic!("ringbolt write future polled after it completed"),
            },
        }
    }
}

/// A `write_all`'s op, or the empty buffer it returns without one.
enum WriteAllState<B: IoBuf, F: RingFd> {
    /// The first send: the whole buffer, as given (no slice around it), from when the future
    /// is made. Most sends complete in full, and then this is the only op.
    Whole(Op<SendOp<B, F>>),
    /// After a short send: a send of `buf[done..len]` (the slice's bounds).
    Rest(Op<SendOp<Slice<B>, F>>),
    /// The buffer had nothing to send: returned by the first poll.
    Empty(Option<B>),
}

/// The future of a `write_all`; see [`Socket::write_all`].
pub(crate) struct WriteAllFuture<'a, B: IoBuf, F: RingFd> {
    sock: &'a Socket<F>,
    /// The current send (a completed op stays until the future is dropped).
    state: WriteAllState<B, F>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBuf, F: RingFd> Unpin for WriteAllFuture<'_, B, F> {}

impl<'a, B: IoBuf, F: RingFd> WriteAllFuture<'a, B, F> {
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        let state = if buf.bytes_init() == 0 {
            WriteAllState::Empty(Some(buf))
        } else {
            // Built now, submitted on the first poll (as every `Op`).
            WriteAllState::Whole(SendOp::op(sock.fd(), buf, 0))
        };
        WriteAllFuture { sock, state }
    }

    /// Goes on after a send of `buf[done..len]` ended with `res`: the output if the buffer is
    /// all sent or the send failed, else `None` with a send of the rest in place. Out of line:
    /// the hot path is a first send that completed in full.
    #[inline(never)]
    fn resume(
        &mut self,
        res: io::Result<usize>,
        buf: B,
        done: usize,
        len: usize,
    ) -> Option<BufResult<(), B>> {
        let done = match res {
            Ok(0) => {
                let e = io::Error::new(io::ErrorKind::WriteZero, "socket accepted no bytes");
                return Some((Err(e), buf));
            }
            Ok(n) => done + n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => done,
            Err(e) => return Some((Err(e), buf)),
        };
        if done >= len {
            // The completed op stays in place until the future is dropped.
            return Some((Ok(()), buf));
        }
        // A short send: a send of the rest replaces the completed op.
        self.state = WriteAllState::Rest(SendOp::op(self.sock.fd(), buf.slice(done..len), 0));
        None
    }
}

impl<B: IoBuf, F: RingFd> WriteAllFuture<'_, B, F> {
    /// Polls the sends of the rest after a short send, until all is sent or one fails. Out of
    /// line, as `resume`.
    #[inline(never)]
    fn poll_rest(&mut self, cx: &mut Context<'_>) -> Poll<BufResult<(), B>> {
        loop {
            let WriteAllState::Rest(op) = &mut self.state else {
                unreachable!("a short send left a send of the rest")
            };
            // Polling a completed op again panics, as polling a finished `Op` does.
            let (res, slice) = ready!(Pin::new(op).poll(cx));
            let (done, len) = (slice.begin(), slice.end());
            if let Some(out) = self.resume(res, slice.into_inner(), done, len) {
                return Poll::Ready(out);
            }
        }
    }
}

impl<B: IoBuf, F: RingFd> Future for WriteAllFuture<'_, B, F> {
    type Output = BufResult<(), B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            WriteAllState::Whole(op) => {
                // Polling a completed op again panics, as polling a finished `Op` does.
                let (res, buf) = ready!(Pin::new(op).poll(cx));
                let len = buf.bytes_init();
                // The hot path: all sent at once.
                if let Ok(n) = res {
                    if n >= len {
                        return Poll::Ready((Ok(()), buf));
                    }
                }
                if let Some(out) = this.resume(res, buf, 0, len) {
                    return Poll::Ready(out);
                }
            }
            WriteAllState::Rest(_) => {}
            WriteAllState::Empty(buf) => {
                return match buf.take() {
                    Some(buf) => Poll::Ready((Ok(()), buf)),
                    None => panic!("ringbolt write_all future polled after it completed"),
                }
            }
        }
        this.poll_rest(cx)
    }
}
