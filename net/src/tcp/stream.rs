use super::{OwnedReadHalf, OwnedWriteHalf, TcpSocket};
use crate::addr::ip_from;
use crate::macros::{stream_read_methods, stream_write_methods};
use crate::resolve::{resolve_async, ToSocketAddrs};
use crate::socket::Socket;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

/// A TCP connection on the current core's ring.
///
/// Reads and writes take owned buffers and give them back. Several ops may be in flight at
/// once (one reading, one writing); [`into_split`](Self::into_split) gives each its own half.
/// Dropping the stream closes it once every op on it has completed; [`close`](Self::close)
/// waits for that and reports the result.
///
/// # Examples
///
/// ```no_run
/// use ringbolt_net::TcpStream;
///
/// # async fn run() -> std::io::Result<()> {
/// let stream = TcpStream::connect("127.0.0.1:7878").await?;
/// stream.set_nodelay(true)?;
/// let (res, buf) = stream.write_all(b"hello".to_vec()).await;
/// res?;
/// let (res, buf) = stream.read(buf).await;
/// println!("{} bytes back", res?);
/// # drop(buf);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TcpStream {
    sock: Socket,
}

impl TcpStream {
    pub(crate) fn from_socket(sock: Socket) -> TcpStream {
        TcpStream { sock }
    }

    /// The socket, for the readiness layer in `compat`.
    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Connects to `addr`, trying each address it resolves to in turn. A host name is looked
    /// up on the blocking pool, so the core goes on running its other tasks meanwhile; a
    /// numeric address needs no lookup (see [`ToSocketAddrs`]).
    ///
    /// # Errors
    ///
    /// The lookup's error, or the last address's error (`ECONNREFUSED`, `ETIMEDOUT`,
    /// `ENETUNREACH`, ...).
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in resolve_async(&addr).await? {
            match TcpSocket::for_addr(addr)?.connect(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }

    /// [`connect`](Self::connect) with a deadline for the whole attempt, lookup included.
    ///
    /// # Errors
    ///
    /// `TimedOut` when `timeout` passes first (the connect in flight is cancelled and its
    /// socket closed), or `connect`'s error.
    pub async fn connect_timeout(
        addr: impl ToSocketAddrs,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match ringbolt_runtime::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            )),
        }
    }

    /// Takes over a connected std stream (blocking or not; io_uring does not care) on the
    /// current core's ring. With [`into_std`](Self::into_std), this moves a connection to
    /// another core.
    pub fn from_std(stream: std::net::TcpStream) -> TcpStream {
        TcpStream::from_socket(Socket::from_fd(OwnedFd::from(stream)))
    }

    /// Turns the stream back into a std stream, which is `Send`: the way to hand a connection
    /// to another core, where [`from_std`](Self::from_std) puts it on that core's ring (for
    /// example to rebalance when `SO_REUSEPORT` hashing is uneven).
    ///
    /// Sound by construction: it fails while any op on the socket is in flight, including an
    /// abandoned one still waiting for its cancellation to complete. (A
    /// [`RecvStream`](crate::RecvStream) from [`recv_stream`](Self::recv_stream) borrows the
    /// stream, so it is dropped first; split halves are reunited first.) The fd stays open
    /// throughout; nothing is lost.
    ///
    /// # Examples
    ///
    /// Accept on core 0, serve on core 1:
    ///
    /// ```
    /// use ringbolt_net::{TcpListener, TcpStream};
    ///
    /// let out = ringbolt_runtime::Runtime::builder()
    ///     .cores(2)
    ///     .pin_threads(false)
    ///     .launch(|core| async move {
    ///         if core != 0 {
    ///             return Ok(None);
    ///         }
    ///         let listener = TcpListener::bind("127.0.0.1:0")?;
    ///         let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    ///         let (stream, _) = listener.accept().await?;
    ///         let std_stream = stream.into_std()?;
    ///         let served_on = ringbolt_runtime::spawn_on(1, move || async move {
    ///             let stream = TcpStream::from_std(std_stream);
    ///             let (res, _) = stream.write_all(b"hi".to_vec()).await;
    ///             res.map(|()| ringbolt_runtime::core_id())
    ///         })
    ///         .await
    ///         .expect("task on core 1")?;
    ///         let mut buf = [0u8; 2];
    ///         std::io::Read::read_exact(&mut client, &mut buf)?;
    ///         assert_eq!(&buf, b"hi");
    ///         Ok::<_, std::io::Error>(Some(served_on))
    ///     })?;
    /// assert_eq!(out[0].as_ref().ok(), Some(&Some(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`IntoStdError`](crate::IntoStdError) (with the stream back) while ops are in flight.
    pub fn into_std(self) -> Result<std::net::TcpStream, crate::IntoStdError<TcpStream>> {
        match self.sock.try_into_owned() {
            Ok(fd) => Ok(std::net::TcpStream::from(fd)),
            Err(sock) => Err(crate::IntoStdError::new(TcpStream::from_socket(sock))),
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
        crate::split::split(self.sock, TcpStream::from_socket)
    }

    /// Closes the connection and reports the result of `close(2)`.
    ///
    /// It first waits for the ops on the socket to end: only ops whose futures were dropped
    /// can still be in flight, and their cancellation completes promptly, so the fd number
    /// is never reused under them. Nothing else can keep it waiting: a
    /// [`RecvStream`](crate::RecvStream) borrows the stream and must be dropped before `close`
    /// can be called (so `close` cannot hang on a handle its own task still holds).
    ///
    /// # Errors
    ///
    /// `close(2)`'s error.
    pub async fn close(self) -> io::Result<()> {
        self.sock.close().await
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `getpeername(2)`'s error (`ENOTCONN`).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ip_from(&self.sock.sock_ref().peer_addr()?)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ip_from(&self.sock.sock_ref().local_addr()?)
    }

    /// Sets `TCP_NODELAY` (send small writes at once instead of coalescing them).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.sock.sock_ref().set_tcp_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// `getsockopt(2)`'s error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.sock.sock_ref().tcp_nodelay()
    }

    /// Turns keepalive probes on after `idle` without traffic (`SO_KEEPALIVE` and
    /// `TCP_KEEPIDLE`), or off with `None`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let s = self.sock.sock_ref();
        match idle {
            Some(idle) => s.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle)),
            None => s.set_keepalive(false),
        }
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Errors
    ///
    /// `getsockopt(2)`'s error.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.sock.sock_ref().keepalive()
    }

    /// Sets `SO_LINGER`: `Some(Duration::ZERO)` makes closing send a reset (RST) instead of
    /// a normal FIN.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.sock.sock_ref().set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// `getsockopt(2)`'s error.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.sock.sock_ref().linger()
    }

    /// Sets `IP_TTL`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.sock_ref().set_ttl_v4(ttl)
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

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
