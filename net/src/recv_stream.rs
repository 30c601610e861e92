//! [`RecvStream`]: multishot receive into provided buffers.

use crate::socket::Socket;
use ringbolt_runtime::buf::provided::{BufRing, ProvidedBuf};
use ringbolt_runtime::ops::net::RecvMulti;
use ringbolt_runtime::time::Sleep;
use ringbolt_runtime::MultiOp;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// The data a stream socket receives, as buffers the kernel picked from a [`BufRing`]: one
/// request armed for many completions (multishot receive, Linux 6.0+).
///
/// Made by `recv_stream` on [`TcpStream`](crate::TcpStream),
/// [`UnixStream`](crate::UnixStream) or their read halves. Each [`ProvidedBuf`] goes back to
/// the ring when dropped, so drop (or send on) buffers promptly: while every buffer of the
/// ring is out, the stream waits (`ENOBUFS` is back-pressure, handled here, not an error).
/// When the kernel ends the request without an error, the stream re-arms it.
///
/// **Cancel-safe.** Dropping it (or a pending [`next`](Self::next)) loses no data: the
/// buffers the armed receive had already filled stay on the stream, and the next `read` (or
/// `recv_stream`) returns their bytes first, in order. So a header taken with `recv_stream`
/// and a body read with `read` afterwards see every byte once. Do not have a `read` and a
/// `RecvStream` pending on the same socket *at the same time*: both would take data in an
/// unspecified order.
///
/// It borrows its stream, so the stream cannot be closed while it lives (closing waits for
/// every handle on the socket and every op in flight, and the armed receive is one):
///
/// ```compile_fail,E0505
/// # async fn f(stream: ringbolt_net::TcpStream, ring: ringbolt_net::BufRing) -> std::io::Result<()> {
/// let mut chunks = stream.recv_stream(&ring);
/// let _first = chunks.next().await?;
/// stream.close().await?; // error: `stream` is still borrowed by `chunks`
/// let _more = chunks.next().await?;
/// # Ok(())
/// # }
/// ```
///
/// Drop it first: `drop(chunks); stream.close().await?;` (the drop cancels the armed receive,
/// and `close` returns once that cancellation has completed).
pub struct RecvStream<'a> {
    sock: &'a Socket,
    ring: BufRing,
    op: Option<MultiOp<RecvMulti>>,
    eof: bool,
    /// `ENOBUFS` results in a row in the current `next` (back-pressure).
    starved: u32,
    /// Starved again: waits for the ring's buffers to come back before re-arming (rare: boxed,
    /// off the hot path; one word, since every idle connection holds it).
    backoff: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for RecvStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvStream")
            .field("sock", &self.sock)
            .field("ring", &self.ring)
            .field("eof", &self.eof)
            .finish()
    }
}

impl<'a> RecvStream<'a> {
    pub(crate) fn new(sock: &'a Socket, ring: &BufRing) -> RecvStream<'a> {
        RecvStream {
            sock,
            ring: ring.clone(),
            op: None,
            eof: false,
            starved: 0,
            backoff: None,
        }
    }

    /// The next chunk of data, or `Ok(None)` once the peer has shut down its write side.
    ///
    /// Chunks a dropped `RecvStream` on the same socket had received come first (they may be
    /// from another ring, and may start past bytes a `read` took).
    ///
    /// # Errors
    ///
    /// The socket's error (`ECONNRESET`, ...); `EINVAL` from kernels without multishot
    /// receive (fall back to `read`); `InvalidInput` while bytes that a dropped owned-buffer
    /// `read` received are held on the stream (take them with `read` first: they cannot be
    /// handed out as a [`ProvidedBuf`], and are never skipped).
    // An async `next`, like `Stream::next` in the futures crate, not an `Iterator`'s.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> impl Future<Output = io::Result<Option<ProvidedBuf>>> + use<'_, 'a> {
        poll_fn(|cx| self.poll_next(cx))
    }

    /// Polls for the next chunk: [`next`](Self::next) as a poll function, for hand-written
    /// futures. `Ready(Ok(None))` once the peer has shut down its write side.
    ///
    /// # Errors
    ///
    /// As [`next`](Self::next).
    #[inline]
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<ProvidedBuf>>> {
        // The hot path: an armed receive (so no end of stream: `eof` is only ever set with `op`
        // gone, and no back-off: `backoff` is only ever set with `op` gone), and a chunk
        // waiting or none: one flat path, the same steps as `poll_item`'s loop takes then.
        // Everything else is out of line.
        if let Some(op) = &mut self.op {
            debug_assert!(self.backoff.is_none(), "a back-off with the receive armed");
            match op.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(Some(buf)))) if !op.is_terminated() => {
                    self.starved = 0;
                    return Poll::Ready(Ok(Some(buf)));
                }
                Poll::Ready(item) => return self.poll_after(item, cx),
            }
        }
        self.poll_cold(cx)
    }

    /// [`poll_next`](Self::poll_next) after the armed receive gave `item` (`None`: the kernel
    /// ended it) other than a chunk with the receive still armed.
    #[cold]
    #[inline(never)]
    fn poll_after(
        &mut self,
        item: Option<io::Result<Option<ProvidedBuf>>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<ProvidedBuf>>> {
        match self.on_item(item, cx) {
            Some(out) => self.done(out),
            None => self.poll_cold(cx),
        }
    }

    /// [`poll_next`](Self::poll_next) past the hot path.
    #[cold]
    #[inline(never)]
    fn poll_cold(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<ProvidedBuf>>> {
        let out = ready!(self.poll_item(cx));
        self.done(Poll::Ready(out))
    }

    /// A chunk, end of stream or an error ends a run of `ENOBUFS` results.
    fn done(
        &mut self,
        out: Poll<io::Result<Option<ProvidedBuf>>>,
    ) -> Poll<io::Result<Option<ProvidedBuf>>> {
        if out.is_ready() {
            self.starved = 0;
        }
        out
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<ProvidedBuf>>> {
        loop {
            if self.eof {
                return Poll::Ready(Ok(None));
            }
            // (After a yield, being polled again is the signal: the buffers' holders had their
            // turn.)
            if let Some(sleep) = &mut self.backoff {
                ready!(sleep.as_mut().poll(cx));
                self.backoff = None;
            }
            if self.op.is_none() {
                // No carry yet: nothing was ever dropped in flight on this socket.
                if let Some(carry) = self.sock.carry_if_made().filter(|c| !c.is_quiet()) {
                    ready!(carry.poll_settled(cx));
                    match carry.take_chunk() {
                        Some(Ok(None)) => {
                            self.eof = true;
                            return Poll::Ready(Ok(None));
                        }
                        Some(res) => return Poll::Ready(res),
                        None => {}
                    }
                }
            }
            let op = match &mut self.op {
                Some(op) => op,
                // The carry becomes its salvage sink only if it is dropped in flight
                // (`drop_op`): a socket that never drops one never makes its carry.
                None => self
                    .op
                    .insert(RecvMulti::op(self.sock.shared_fd(), &self.ring)),
            };
            let item = ready!(op.poll_next(cx));
            if let Some(out) = self.on_item(item, cx) {
                return out;
            }
        }
    }

    /// What an item of the armed receive means: the output, or `None` to go on (re-arm, or
    /// wait out a back-off). Drops the receive once the kernel has ended it.
    fn on_item(
        &mut self,
        item: Option<io::Result<Option<ProvidedBuf>>>,
        cx: &mut Context<'_>,
    ) -> Option<Poll<io::Result<Option<ProvidedBuf>>>> {
        if self.op.as_ref().is_some_and(MultiOp::is_terminated) {
            self.op = None;
        }
        match item {
            // The kernel ended the request without a result: re-arm.
            None => None,
            Some(Ok(Some(buf))) => Some(Poll::Ready(Ok(Some(buf)))),
            Some(Ok(None)) => {
                self.eof = true;
                self.drop_op();
                Some(Poll::Ready(Ok(None)))
            }
            Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                // Every buffer is out: let their holders run (a yield first, then 1 ms
                // sleeps), then re-arm.
                self.starved += 1;
                if self.starved == 1 {
                    cx.waker().wake_by_ref();
                    return Some(Poll::Pending);
                }
                // The back-off starts with no receive armed (`poll_next`'s hot path relies on
                // it). `ENOBUFS` ends a multishot receive, so it is gone already; were it not,
                // dropping it keeps whatever it still receives on the socket's carry.
                self.drop_op();
                let sleep = ringbolt_runtime::time::sleep(Duration::from_millis(1));
                self.backoff = Some(Box::pin(sleep));
                None
            }
            Some(Err(e)) => Some(Poll::Ready(Err(e))),
        }
    }

    /// Drops the armed receive, if any. One still in flight gets the socket's carry as its
    /// salvage sink first, so the buffers it filled (or still fills) are kept for the next
    /// read on the socket rather than returned to the ring (see `carry`).
    fn drop_op(&mut self) {
        if let Some(op) = self.op.take() {
            if !op.is_terminated() {
                drop(op.salvage(self.sock.carry().clone()));
            }
        }
    }
}

impl Drop for RecvStream<'_> {
    fn drop(&mut self) {
        self.drop_op();
    }
}
