use super::{TcpSocket, TcpStream};
use crate::addr::{ip_from, resolve};
use crate::socket::Socket;
use crate::Incoming;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// The backlog [`TcpListener::bind`] asks for.
const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP listening socket on the current core's ring.
///
/// # Examples
///
/// ```
/// use ringbolt_net::TcpListener;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let client = std::net::TcpStream::connect(addr)?;
///     let (stream, peer) = listener.accept().await?;
///     assert_eq!(peer, client.local_addr()?);
///     assert_eq!(stream.peer_addr()?, peer);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    sock: Socket,
}

impl TcpListener {
    pub(crate) fn from_socket(sock: Socket) -> TcpListener {
        TcpListener { sock }
    }

    /// The socket, for accept variants defined next to their stream type (`tcp/direct.rs`).
    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Binds a listener to `addr` exclusively, with `SO_REUSEADDR` (as std and tokio do) and
    /// a backlog of 1024. Each address `addr` resolves to is tried in turn.
    ///
    /// A second socket bound to the same port fails with `EADDRINUSE`, so a server started
    /// twice by mistake reports it instead of silently sharing the traffic. To serve one port
    /// from every core, bind each core's listener with [`bind_reuseport`](Self::bind_reuseport).
    ///
    /// A host name in `addr` is resolved with a blocking lookup on this thread (bind at
    /// start-up, or pass a numeric address).
    ///
    /// # Errors
    ///
    /// The last address's error: `EADDRINUSE` when another socket holds the port,
    /// `EADDRNOTAVAIL`, `EMFILE`, ...
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with(addr, false)
    }

    /// Binds a listener to `addr` with `SO_REUSEADDR` and `SO_REUSEPORT`, so one listener per
    /// core can share the port and the kernel spreads incoming connections over them.
    ///
    /// **The trap:** any process of the same user that also binds with `SO_REUSEPORT` joins
    /// the group without error and receives part of the connections; a second copy of a
    /// server started by mistake does not fail, it silently takes traffic. Use this only for
    /// the per-core listeners of one server; [`bind`](Self::bind) is exclusive.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringbolt_net::TcpListener;
    ///
    /// let rt = ringbolt_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let a = TcpListener::bind_reuseport("127.0.0.1:0")?;
    ///     // A second listener on the same port (another core's, in a real server).
    ///     let b = TcpListener::bind_reuseport(a.local_addr()?)?;
    ///     assert_eq!(a.local_addr()?, b.local_addr()?);
    ///     // An exclusive bind of that port fails.
    ///     assert!(TcpListener::bind(a.local_addr()?).is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind); `EADDRINUSE` when a socket without `SO_REUSEPORT` (or owned
    /// by another user) holds the port.
    pub fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with(addr, true)
    }

    fn bind_with(addr: impl ToSocketAddrs, reuseport: bool) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in resolve(addr)? {
            match Self::bind_one(addr, reuseport) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    fn bind_one(addr: SocketAddr, reuseport: bool) -> io::Result<TcpListener> {
        let sock = TcpSocket::for_addr(addr)?;
        sock.set_reuseaddr(true)?;
        if reuseport {
            sock.set_reuseport(true)?;
        }
        sock.bind(addr)?;
        sock.listen(DEFAULT_BACKLOG)
    }

    /// Takes over a std listener (blocking or not; io_uring does not care).
    pub fn from_std(listener: std::net::TcpListener) -> TcpListener {
        TcpListener::from_socket(Socket::from_fd(OwnedFd::from(listener)))
    }

    /// Accepts one connection.
    ///
    /// Cancel-safe: dropping the future (a `select!` that took another branch, a timeout)
    /// cancels the accept, and a connection the kernel accepted anyway is kept on the
    /// listener and handed out by the next `accept` or [`incoming`](Self::incoming), first.
    /// Connections a dropped [`Incoming`] had taken from the backlog come back the same way.
    ///
    /// # Errors
    ///
    /// `accept(2)`'s error, including `EMFILE`/`ENFILE` when out of fds (see
    /// [`incoming`](Self::incoming) for a stream that waits those out).
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (sock, addr) = self.sock.accept().await?;
        let peer = match addr.as_ref().map(ip_from) {
            Some(Ok(peer)) => peer,
            // Taken by a dropped multishot accept, which does not report the peer (or a
            // reported address that is no IP address): ask the socket. A connection is never
            // dropped over its address.
            _ => match sock.sock_ref().peer_addr().map(|a| ip_from(&a)) {
                Ok(Ok(peer)) => peer,
                // Reset by the peer since: hand the connection over all the same (its next
                // read reports the reset) with the unspecified address of the listener's family.
                _ => unspecified_like(self.local_addr()?),
            },
        };
        Ok((TcpStream::from_socket(sock), peer))
    }

    /// The stream of accepted connections, multishot when the kernel supports it; it backs
    /// off when out of fds instead of failing. See [`Incoming`].
    pub fn incoming(&self) -> Incoming<'_, TcpStream> {
        Incoming::new(&self.sock, TcpStream::from_socket)
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ip_from(&self.sock.sock_ref().local_addr()?)
    }

    /// Sets `IP_TTL` for accepted connections.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.sock_ref().set_ttl_v4(ttl)
    }

    /// Closes the listener and reports `close(2)`'s result, after the accepts on it have ended
    /// (only cancelled ones can still be in flight, and they end promptly). An [`Incoming`]
    /// borrows the listener, so it is dropped (cancelling its accept) before `close` can be
    /// called: `close` cannot hang on a handle its own task still holds.
    ///
    /// # Errors
    ///
    /// `close(2)`'s error.
    pub async fn close(self) -> io::Result<()> {
        self.sock.close().await
    }
}

/// The unspecified address (port 0) of `addr`'s family.
fn unspecified_like(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)),
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
