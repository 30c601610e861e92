//! TCP connections held as direct descriptors: [`TcpListener::accept_direct`] and
//! [`DirectTcpStream`].
//!
//! Rules:
//! 1. Opt-in: nothing changes for [`TcpListener::accept`] and [`TcpStream`]. A direct stream
//!    needs a table, sized with `Builder::direct_files` in `ringbolt-runtime`.
//! 2. A direct stream has no fd number: its I/O goes through the ring only (fixed-file ops),
//!    and plain syscalls (`setsockopt`, `getpeername`) cannot reach it; set listener options
//!    that accepted sockets inherit (`TCP_NODELAY` on the listener, for example) instead.
//! 3. Its slot is freed after every op on it has completed, by [`DirectTcpStream::close`]
//!    or by the drop (see `ringbolt_runtime::DirectFd`).

use super::TcpListener;
use crate::addr::ip_from;
use crate::socket::Socket;
use crate::{BufResult, IoBuf, IoBufMut};
use ringbolt_runtime::DirectFd;
use std::io;
use std::net::{Shutdown, SocketAddr};

impl TcpListener {
    /// Accepts one connection straight into the current core's table of direct descriptors
    /// (`IORING_OP_ACCEPT` with `IORING_FILE_INDEX_ALLOC`, Linux 5.19+): no fd is created, and
    /// every later op on the stream skips the kernel's fd lookup.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringbolt_net::{TcpListener, TcpStream};
    ///
    /// // Direct descriptors need io_uring: ask for it (the epoll fallback refuses them).
    /// let rt = ringbolt_runtime::Runtime::builder()
    ///     .driver(ringbolt_runtime::DriverKind::IoUring)
    ///     .direct_files(64)
    ///     .build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (stream, peer) = listener.accept_direct().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     client.write_all(b"ping".to_vec()).await.0?;
    ///     let (res, buf) = stream.read_exact(vec![0u8; 4]).await;
    ///     res?;
    ///     stream.write_all(buf).await.0?;
    ///     let (res, buf) = client.read_exact(vec![0u8; 4]).await;
    ///     res?;
    ///     assert_eq!(&buf[..], b"ping");
    ///     stream.close().await
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `ENFILE` when the table is full or was never registered (the message names
    /// `Builder::direct_files`): unlike `EMFILE` from [`accept`](Self::accept), the kernel has
    /// then taken the connection from the backlog and closed it. `EINVAL` on kernels without
    /// direct accept, or `accept(2)`'s errors.
    pub async fn accept_direct(&self) -> io::Result<(DirectTcpStream, SocketAddr)> {
        let (sock, addr) = self.socket().accept_direct().await?;
        let peer = ip_from(&addr)?;
        Ok((DirectTcpStream { sock, peer }, peer))
    }
}

/// A TCP connection held in a slot of the current core's io_uring fixed-file table, from
/// [`TcpListener::accept_direct`].
///
/// The same owned-buffer reads and writes as [`TcpStream`](crate::TcpStream), each naming the
/// slot instead of an fd. Dropping it frees the slot once every op on it has completed;
/// [`close`](Self::close) waits for that and reports the result.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_net::DirectTcpStream>();
/// ```
#[derive(Debug)]
pub struct DirectTcpStream {
    sock: Socket<DirectFd>,
    peer: SocketAddr,
}

impl DirectTcpStream {
    /// Reads into `buf` from its start, up to its capacity, and gives the buffer back. The
    /// count may be short; `Ok(0)` from a non-empty buffer means the peer shut down its write
    /// side, and an empty buffer returns `Ok(0)` at once.
    ///
    /// # Errors
    ///
    /// The socket's error (`ECONNRESET`, ...); the buffer comes back either way.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.sock.read(buf).await
    }

    /// Reads until `buf` is full to its capacity.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first, or the socket's error.
    pub async fn read_exact<B: IoBufMut>(&self, buf: B) -> BufResult<(), B> {
        self.sock.read_exact(buf).await
    }

    /// Writes the initialised part of `buf` (`MSG_NOSIGNAL`); the count may be short.
    ///
    /// # Errors
    ///
    /// `EPIPE` or `ECONNRESET` if the peer is gone, or another socket error.
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.sock.write(buf).await
    }

    /// Writes all of the initialised part of `buf`, looping over short writes.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); on error an unknown prefix of the buffer was sent.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        self.sock.write_all(buf).await
    }

    /// A zero-copy send; see [`TcpStream::send_zc`](crate::TcpStream::send_zc).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::send_zc`](crate::TcpStream::send_zc).
    pub async fn send_zc<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.sock.send_zc(buf).await
    }

    /// Sends all of `buf` with zero copy; see
    /// [`TcpStream::write_all_zc`](crate::TcpStream::write_all_zc).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all_zc`](crate::TcpStream::write_all_zc).
    pub async fn write_all_zc<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        self.sock.write_all_zc(buf).await
    }

    /// Shuts down the read side, the write side or both (`IORING_OP_SHUTDOWN` on the slot).
    ///
    /// # Errors
    ///
    /// `shutdown(2)`'s error (`ENOTCONN`).
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how).await
    }

    /// The remote address, as the accept reported it.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The direct descriptor (its slot in the ring's table), for ops of
    /// [`ringbolt_runtime::ops::net`].
    pub fn direct_fd(&self) -> &DirectFd {
        self.sock.direct_fd()
    }

    /// Closes the connection with `IORING_OP_CLOSE` on its slot, once every op on it has
    /// ended, and reports the result.
    ///
    /// # Errors
    ///
    /// The close's error.
    pub async fn close(self) -> io::Result<()> {
        self.sock.close().await
    }
}
