//! Readiness-style streams for code written against poll-based I/O traits.
//!
//! [`PollIo`] wraps a [`TcpStream`] or [`UnixStream`] and reads and writes through the
//! *caller's* borrowed buffer: it waits for readiness with an `IORING_OP_POLL_ADD` on the
//! core's own ring (multishot, armed only once a syscall said `EAGAIN`), then does one
//! non-blocking `recv`/`send`. No second event loop, no nested epoll, no thread, no copy
//! (see [`ringbolt_runtime::readiness`] for the rules).
//!
//! With cargo features it implements:
//! - `tokio-io`: `tokio::io::AsyncRead` + `AsyncWrite` (so `tokio-util` codecs, `tokio-rustls`
//!   and hyper through `hyper-util`'s `TokioIo` work);
//! - `futures-io`: `futures_io::AsyncRead` + `AsyncWrite`;
//! - `hyper`: `hyper::rt::Read` + `Write` directly, with [`HyperExecutor`] (spawns onto the
//!   current core; tasks need not be `Send`) and [`HyperTimer`] (ringbolt's timer wheel).
//!
//! # Which path to use
//!
//! The owned-buffer methods on [`TcpStream`] are the fast road: the kernel does the whole
//! transfer in one completion. `PollIo` costs one extra step per wait (a poll CQE, then the
//! syscall) and exists so that the ecosystem's poll-based code runs on ringbolt unchanged.
//!
//! # Cancellation
//!
//! A read or write on `PollIo` is *readiness*, not an operation in flight: nothing is
//! consumed until the non-blocking syscall runs inside `poll_read`/`poll_write`, and that call
//! returns the bytes at once. So dropping a pending read (a `select!` that took another branch,
//! a timeout) **loses no bytes**: the next read returns everything the socket holds. Dropping
//! the `PollIo` cancels its polls; they leave the ring with their final completion.
//!
//! # Examples
//!
//! ```
//! use ringbolt_net::compat::PollIo;
//! use ringbolt_net::{TcpListener, TcpStream};
//! use std::future::poll_fn;
//!
//! let rt = ringbolt_runtime::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let client = ringbolt_runtime::spawn(async move {
//!         let mut io = PollIo::new(TcpStream::connect(addr).await?);
//!         poll_fn(|cx| io.poll_write(cx, b"ping")).await
//!     });
//!     let (stream, _) = listener.accept().await?;
//!     let mut io = PollIo::new(stream);
//!     let mut buf = [0u8; 4];
//!     let mut filled = 0;
//!     while filled < 4 {
//!         filled += poll_fn(|cx| io.poll_read(cx, &mut buf[filled..])).await?;
//!     }
//!     assert_eq!(&buf, b"ping");
//!     client.await.expect("client task")?;
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Like the stream it wraps, a `PollIo` belongs to its core:
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_net::compat::PollIo<ringbolt_net::TcpStream>>();
//! ```

#[cfg(feature = "futures-io")]
mod futures;
#[cfg(feature = "hyper")]
mod hyper;
#[cfg(feature = "tokio-io")]
mod tokio;

#[cfg(feature = "hyper")]
pub use ringbolt_runtime::readiness::hyper::{HyperExecutor, HyperTimer};

use crate::socket::Socket;
use crate::{TcpStream, UnixStream};
use ringbolt_runtime::readiness::{Interest, Readiness};
use ringbolt_runtime::SharedFd;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::task::{ready, Context, Poll};

mod sealed {
    use std::io;
    use std::task::{Context, Poll};

    /// Gives the readiness layer the socket; not implementable outside this crate.
    pub trait Sealed {
        fn shared_fd(&self) -> &ringbolt_runtime::SharedFd;

        /// Bytes that owned-buffer reads dropped before the wrap received, into `buf`:
        /// `Ready(None)` when none are held (go to the socket), `Pending` while a dropped
        /// read is still parked.
        fn poll_carried(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<Option<io::Result<usize>>>;
    }
}

/// A stream [`PollIo`] can wrap: [`TcpStream`] and [`UnixStream`].
pub trait PollSource: sealed::Sealed {}

/// See [`sealed::Sealed::poll_carried`].
fn poll_carried(
    sock: &Socket,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<Option<io::Result<usize>>> {
    match sock.carry_if_made() {
        Some(carry) if !carry.is_quiet() => {
            ready!(carry.poll_settled(cx));
            Poll::Ready(carry.take_into_slice(buf))
        }
        _ => Poll::Ready(None),
    }
}

/// `PollSource` for the stream types, which all hold a `Socket`.
macro_rules! poll_source {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {
            fn shared_fd(&self) -> &SharedFd {
                self.socket().shared_fd()
            }
            fn poll_carried(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<Option<io::Result<usize>>> {
                poll_carried(self.socket(), cx, buf)
            }
        }
        impl PollSource for $ty {}
    )*};
}

poll_source!(TcpStream, UnixStream);

/// A stream driven by readiness on the core's ring, reading into and writing from borrowed
/// buffers. See the [module docs](self).
///
/// The inner stream's owned-buffer methods stay usable through [`get_ref`](Self::get_ref);
/// do not mix them with poll-style reads on the same direction at the same time (the bytes
/// would go to whichever asks first).
pub struct PollIo<S> {
    stream: S,
    fd: SharedFd,
    read: Readiness,
    write: Readiness,
}

impl<S: std::fmt::Debug> std::fmt::Debug for PollIo<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollIo")
            .field("stream", &self.stream)
            .field("read", &self.read)
            .field("write", &self.write)
            .finish()
    }
}

impl TcpStream {
    /// Wraps the stream for poll-style I/O ([`PollIo`]).
    pub fn into_poll_io(self) -> PollIo<TcpStream> {
        PollIo::new(self)
    }
}

impl UnixStream {
    /// Wraps the stream for poll-style I/O ([`PollIo`]).
    pub fn into_poll_io(self) -> PollIo<UnixStream> {
        PollIo::new(self)
    }
}

/// Waits for `readiness`, runs `io`, and on `EAGAIN` clears readiness and waits again.
fn poll_io<R>(
    readiness: &mut Readiness,
    cx: &mut Context<'_>,
    mut io: impl FnMut() -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        ready!(readiness.poll_ready(cx))?;
        match io() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => readiness.clear_ready(),
            res => return Poll::Ready(res),
        }
    }
}

impl<S: PollSource> PollIo<S> {
    /// Wraps `stream`. Nothing is armed until a read or write finds the socket not ready.
    pub fn new(stream: S) -> PollIo<S> {
        let fd = stream.shared_fd().clone();
        PollIo {
            read: Readiness::new(&fd, Interest::Readable),
            write: Readiness::new(&fd, Interest::Writable),
            fd,
            stream,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Unwraps the stream; any poll in flight is cancelled.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Reads into `buf` once the socket is readable: `Ok(0)` for a non-empty `buf` is end of
    /// stream. Dropping a pending read loses nothing (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// The socket's error (`ECONNRESET`, ...), or the poll's (`ECANCELED` at shutdown).
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Bytes an owned-buffer read dropped before the wrap received come first (and a read
        // still parked is waited for), so the order holds across the two paths.
        if let Some(res) = ready!(self.stream.poll_carried(cx, buf)) {
            return Poll::Ready(res);
        }
        let fd = &self.fd;
        poll_io(&mut self.read, cx, || fd.recv_nonblocking(buf))
    }

    /// Writes from `buf` once the socket is writable; the count may be short.
    ///
    /// # Errors
    ///
    /// The socket's error (`EPIPE`, `ECONNRESET`; never a `SIGPIPE`), or the poll's.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let fd = &self.fd;
        poll_io(&mut self.write, cx, || fd.send_nonblocking(buf))
    }

    /// Writes from several buffers with one `sendmsg` once the socket is writable.
    ///
    /// # Errors
    ///
    /// As [`poll_write`](Self::poll_write).
    pub fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let fd = &self.fd;
        poll_io(&mut self.write, cx, || fd.send_vectored_nonblocking(bufs))
    }

    /// Shuts down the write side (the peer reads end of stream). `shutdown(2)` never blocks,
    /// so this is ready at once; a connection the peer already tore down counts as shut.
    ///
    /// # Errors
    ///
    /// `shutdown(2)`'s error.
    pub fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match socket2::SockRef::from(&self.fd).shutdown(Shutdown::Write) {
            // The peer is gone already: the write side is as shut as it gets.
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Poll::Ready(Ok(())),
            res => Poll::Ready(res),
        }
    }
}
