//! [`RecvStream`]: multishot receive into provided buffers.

use crate::socket::Socket;
use ringbolt_runtime::buf::provided::{BufRing, ProvidedBuf};
use ringbolt_runtime::ops::net::RecvMulti;
use ringbolt_runtime::MultiOp;
use std::io;
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
    pub async fn next(&mut self) -> io::Result<Option<ProvidedBuf>> {
        let mut starved = 0u32;
        let carry = self.sock.carry();
        loop {
            if self.eof {
                return Ok(None);
            }
            if self.op.is_none() && !carry.is_quiet() {
                carry.settled().await;
                match carry.take_chunk() {
                    Some(Ok(None)) => {
                        self.eof = true;
                        return Ok(None);
                    }
                    Some(res) => return res,
                    None => {}
                }
            }
            let op = self.op.get_or_insert_with(|| {
                RecvMulti::op(self.sock.shared_fd(), &self.ring).salvage(carry.clone())
            });
            let item = op.next().await;
            if op.is_terminated() {
                self.op = None;
            }
            match item {
                // The kernel ended the request without a result: re-arm.
                None => {}
                Some(Ok(Some(buf))) => return Ok(Some(buf)),
                Some(Ok(None)) => {
                    self.eof = true;
                    self.op = None;
                    return Ok(None);
                }
                Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // Every buffer is out: let their holders run, then re-arm.
                    starved += 1;
                    if starved == 1 {
                        ringbolt_runtime::task::yield_now().await;
                    } else {
                        ringbolt_runtime::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                Some(Err(e)) => return Err(e),
            }
        }
    }
}
