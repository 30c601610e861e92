use super::{new_socket, OwnedReadHalf, OwnedWriteHalf};
use crate::addr::{unix_addr_of, unix_to_op, End};
use crate::macros::{stream_read_methods, stream_write_methods};
use crate::socket::Socket;
use ringbolt_runtime::ops::net::{unix_abstract, unix_path, SockAddr};
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix-domain stream connection on the current core's ring, with the same read and write
/// surface as [`TcpStream`](crate::TcpStream).
///
/// # Examples
///
/// ```
/// use ringbolt_net::UnixStream;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (res, _) = a.write_all(b"ping".to_vec()).await;
///     res?;
///     // A read may return fewer bytes than were written (a short read): read all four.
///     let (res, buf) = b.read_exact(vec![0u8; 4]).await;
///     res?;
///     assert_eq!(&buf[..], b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixStream {
    sock: Socket,
}

impl UnixStream {
    pub(crate) fn from_socket(sock: Socket) -> UnixStream {
        UnixStream { sock }
    }

    /// The socket, for the readiness layer in `compat`.
    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Connects to the listener at a filesystem path (or, if it starts with a NUL byte, an
    /// abstract name).
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ECONNREFUSED`, ...
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_ref().as_os_str().as_bytes();
        let addr = match bytes.split_first() {
            Some((0, name)) => unix_abstract(name)?,
            _ => unix_path(path.as_ref())?,
        };
        Self::connect_raw(addr).await
    }

    /// Connects to the listener at `addr` (pathname or abstract).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), or `InvalidInput` for an unnamed address.
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        Self::connect_raw(unix_to_op(addr)?).await
    }

    async fn connect_raw(addr: SockAddr) -> io::Result<UnixStream> {
        let sock = Socket::from_socket2(new_socket(socket2::Type::STREAM)?);
        sock.connect(addr).await?;
        Ok(UnixStream { sock })
    }

    /// Two connected streams (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// `socketpair(2)`'s error (`EMFILE`).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a), UnixStream::from_std(b)))
    }

    /// Takes over a connected std stream on the current core's ring. With
    /// [`into_std`](Self::into_std), this moves a connection to another core.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream {
            sock: Socket::from_fd(OwnedFd::from(stream)),
        }
    }

    /// Turns the stream back into a std stream, which is `Send`, to hand it to another core
    /// (rebind it there with [`from_std`](Self::from_std)). Works as
    /// [`TcpStream::into_std`](crate::TcpStream::into_std).
    ///
    /// # Errors
    ///
    /// [`IntoStdError`](crate::IntoStdError) (with the stream back) while ops are in flight.
    pub fn into_std(
        self,
    ) -> Result<std::os::unix::net::UnixStream, crate::IntoStdError<UnixStream>> {
        match self.sock.try_into_owned() {
            Ok(fd) => Ok(std::os::unix::net::UnixStream::from(fd)),
            Err(sock) => Err(crate::IntoStdError::new(UnixStream::from_socket(sock))),
        }
    }

    stream_read_methods!(sock);
    stream_write_methods!(sock);

    /// Shuts down the read side, the write side (the peer reads end of stream) or both.
    ///
    /// # Errors
    ///
    /// `shutdown(2)`'s error (`ENOTCONN`).
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how).await
    }

    /// Splits the stream into a read half and a write half that separate tasks can own.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        crate::split::split(self.sock, UnixStream::from_socket)
    }

    /// Closes the connection and reports `close(2)`'s result, after the ops on it have ended
    /// (only cancelled ones can still be in flight; see
    /// [`TcpStream::close`](crate::TcpStream::close)). A [`RecvStream`](crate::RecvStream)
    /// borrows the stream, so it is dropped before `close` can be called.
    ///
    /// # Errors
    ///
    /// `close(2)`'s error.
    pub async fn close(self) -> io::Result<()> {
        self.sock.close().await
    }

    /// The local address (often unnamed for a connecting socket).
    ///
    /// # Errors
    ///
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix_addr_of(self.sock.as_fd(), End::Local)
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `getpeername(2)`'s error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        unix_addr_of(self.sock.as_fd(), End::Peer)
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock.sock_ref().set_send_buffer_size(size)
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock.sock_ref().set_recv_buffer_size(size)
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
