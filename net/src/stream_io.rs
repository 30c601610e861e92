//! Hand-written futures for the hot stream paths: [`ReadFuture`] (a cancel-safe `read`),
//! [`WriteFuture`] (`write`) and [`WriteAllFuture`] (`write_all`).
//!
//! They do what the `async fn`s they replace did, one flat state machine each: no nested
//! async state machines, no big future moved into another on every call, and the op polled in
//! place. Rules:
//! 1. A read keeps the [`Carry`] protocol: when the carry is not quiet it first waits for the
//!    parked reads to settle and takes what they held, and only then submits; every read op is
//!    submitted with the carry as its salvage sink (see `carry.rs`).
//! 2. The op lives in the future until it completes; dropping the future drops the op, which
//!    hands an in-flight op to the driver (and its result to the carry, for a read).
//! 3. A finished future is never polled again by well-behaved callers; if it is, it panics
//!    (as an `async fn` would, or as a completed `Op` does), without touching the ring.

use crate::carry::Carry;
use crate::socket::Socket;
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut, Slice};
use ringbolt_runtime::ops::net::{Recv, Send as SendOp};
use ringbolt_runtime::{Op, RingFd};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

/// Where a read is.
enum ReadState<B: IoBufMut, F: RingFd> {
    /// Not polled yet.
    Start(B),
    /// Waiting for reads dropped earlier on the socket to settle (carry rule 2).
    Settling(B),
    /// The recv is submitted (or about to be, on this poll).
    Op(Op<Recv<B, F>>),
    /// The output was returned.
    Done,
}

/// The future of a stream read; see [`Socket::read`].
pub(crate) struct ReadFuture<'a, B: IoBufMut, F: RingFd> {
    sock: &'a Socket<F>,
    state: ReadState<B, F>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBufMut, F: RingFd> Unpin for ReadFuture<'_, B, F> {}

impl<'a, B: IoBufMut, F: RingFd> ReadFuture<'a, B, F> {
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        ReadFuture {
            sock,
            state: ReadState::Start(buf),
        }
    }

    /// The recv op for `buf`, with the socket's carry as its salvage sink.
    #[inline]
    fn op(&self, carry: &Rc<Carry>, buf: B) -> Op<Recv<B, F>> {
        Recv::op(self.sock.fd(), buf, 0).salvage(carry.clone())
    }
}

impl<B: IoBufMut, F: RingFd> Future for ReadFuture<'_, B, F> {
    type Output = BufResult<usize, B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                // The completed op stays in place until the future is dropped (one drop, not
                // two); polling it again panics, as polling a finished `Op` does.
                ReadState::Op(op) => return Pin::new(op).poll(cx),
                ReadState::Start(buf) => {
                    if buf.bytes_total() == 0 {
                        let ReadState::Start(buf) =
                            std::mem::replace(&mut this.state, ReadState::Done)
                        else {
                            unreachable!("matched Start above")
                        };
                        return Poll::Ready((Ok(0), buf));
                    }
                    let carry = this.sock.carry();
                    let ReadState::Start(buf) = std::mem::replace(&mut this.state, ReadState::Done)
                    else {
                        unreachable!("matched Start above")
                    };
                    this.state = if carry.is_quiet() {
                        ReadState::Op(this.op(carry, buf))
                    } else {
                        ReadState::Settling(buf)
                    };
                }
                ReadState::Settling(buf) => {
                    let carry = this.sock.carry();
                    ready!(carry.poll_settled(cx));
                    if let Some(res) = carry.take_into(buf) {
                        let ReadState::Settling(buf) =
                            std::mem::replace(&mut this.state, ReadState::Done)
                        else {
                            unreachable!("matched Settling above")
                        };
                        return Poll::Ready((res, buf));
                    }
                    let ReadState::Settling(buf) =
                        std::mem::replace(&mut this.state, ReadState::Done)
                    else {
                        unreachable!("matched Settling above")
                    };
                    this.state = ReadState::Op(this.op(carry, buf));
                }
                ReadState::Done => panic!("ringbolt read future polled after it completed"),
            }
        }
    }
}

/// Where a write is.
enum WriteState<B: IoBuf, F: RingFd> {
    Start(B),
    Op(Op<SendOp<B, F>>),
    Done,
}

/// The future of a stream write; see [`Socket::write`].
pub(crate) struct WriteFuture<'a, B: IoBuf, F: RingFd> {
    sock: &'a Socket<F>,
    state: WriteState<B, F>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBuf, F: RingFd> Unpin for WriteFuture<'_, B, F> {}

impl<'a, B: IoBuf, F: RingFd> WriteFuture<'a, B, F> {
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        WriteFuture {
            sock,
            state: WriteState::Start(buf),
        }
    }
}

impl<B: IoBuf, F: RingFd> Future for WriteFuture<'_, B, F> {
    type Output = BufResult<usize, B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let WriteState::Start(buf) = &this.state {
            let empty = buf.bytes_init() == 0;
            let WriteState::Start(buf) = std::mem::replace(&mut this.state, WriteState::Done)
            else {
                unreachable!("matched Start above")
            };
            if empty {
                return Poll::Ready((Ok(0), buf));
            }
            this.state = WriteState::Op(SendOp::op(this.sock.fd(), buf, 0));
        }
        match &mut this.state {
            // As in `ReadFuture`: the completed op stays until the future is dropped.
            WriteState::Op(op) => Pin::new(op).poll(cx),
            _ => panic!("ringbolt write future polled after it completed"),
        }
    }
}

/// Where a `write_all` is.
enum WriteAllState<B: IoBuf, F: RingFd> {
    Start(B),
    /// A send of `buf[done..len]` is in flight (the slice's bounds).
    Op(Op<SendOp<Slice<B>, F>>),
    Done,
}

/// The future of a `write_all`; see [`Socket::write_all`].
pub(crate) struct WriteAllFuture<'a, B: IoBuf, F: RingFd> {
    sock: &'a Socket<F>,
    state: WriteAllState<B, F>,
}

// Nothing is pinned structurally: `Op` is `Unpin`, the buffer is only ever moved by value.
impl<B: IoBuf, F: RingFd> Unpin for WriteAllFuture<'_, B, F> {}

impl<'a, B: IoBuf, F: RingFd> WriteAllFuture<'a, B, F> {
    pub(crate) fn new(sock: &'a Socket<F>, buf: B) -> Self {
        WriteAllFuture {
            sock,
            state: WriteAllState::Start(buf),
        }
    }

    /// The next step: done, or a send of the rest.
    #[inline]
    fn next(&mut self, buf: B, done: usize, len: usize) -> Option<BufResult<(), B>> {
        if done >= len {
            return Some((Ok(()), buf));
        }
        let op = SendOp::op(self.sock.fd(), buf.slice(done..len), 0);
        self.state = WriteAllState::Op(op);
        None
    }
}

impl<B: IoBuf, F: RingFd> Future for WriteAllFuture<'_, B, F> {
    type Output = BufResult<(), B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let WriteAllState::Start(_) = &this.state {
            let WriteAllState::Start(buf) = std::mem::replace(&mut this.state, WriteAllState::Done)
            else {
                unreachable!("matched Start above")
            };
            let len = buf.bytes_init();
            if let Some(out) = this.next(buf, 0, len) {
                return Poll::Ready(out);
            }
        }
        loop {
            let WriteAllState::Op(op) = &mut this.state else {
                panic!("ringbolt write_all future polled after it completed");
            };
            let (res, slice) = ready!(Pin::new(op).poll(cx));
            // The completed op stays in place unless another send replaces it.
            let (done, len) = (slice.begin(), slice.end());
            let buf = slice.into_inner();
            let done = match res {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "socket accepted no bytes");
                    return Poll::Ready((Err(e), buf));
                }
                Ok(n) => done + n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => done,
                Err(e) => return Poll::Ready((Err(e), buf)),
            };
            if let Some(out) = this.next(buf, done, len) {
                return Poll::Ready(out);
            }
        }
    }
}
