use super::{TcpListener, TcpStream};
use crate::socket::Socket;
use ringbolt_runtime::ops::net::SockAddr;
use socket2::{Domain, Protocol, Type};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A TCP socket not yet listening or connected: set options, then [`listen`](Self::listen) or
/// [`connect`](Self::connect).
///
/// # Examples
///
/// ```
/// use ringbolt_net::TcpSocket;
///
/// let sock = TcpSocket::new_v4()?;
/// sock.set_reuseaddr(true)?;
/// sock.set_reuseport(false)?;
/// sock.set_recv_buffer_size(1 << 20)?;
/// sock.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = sock.listen(128)?;
/// assert!(listener.local_addr()?.port() != 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    inner: socket2::Socket,
}

impl TcpSocket {
    fn new(domain: Domain) -> io::Result<TcpSocket> {
        // socket2 sets SOCK_CLOEXEC. The fd stays blocking: io_uring polls it without
        // blocking the thread.
        let inner = socket2::Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        Ok(TcpSocket { inner })
    }

    /// A new IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// `socket(2)`'s error (`EMFILE`, ...).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// `socket(2)`'s error.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    /// A new TCP socket of the family of `addr`.
    ///
    /// # Errors
    ///
    /// `socket(2)`'s error.
    pub fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::for_address(addr))
    }

    /// Sets `SO_REUSEADDR` (rebinding a port with connections in `TIME_WAIT`).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_address(on)
    }

    /// Sets `SO_REUSEPORT` (several sockets, e.g. one per core, bound to the same port; the
    /// kernel spreads incoming connections over them).
    ///
    /// Any other socket of the same user with this option can join the port too, so a second
    /// server started on it by mistake does not fail but silently takes part of the traffic.
    /// Leave it off unless the per-core listeners of one server need it.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_port(on)
    }

    /// Sets `IPV6_V6ONLY` on an IPv6 socket (no IPv4-mapped connections).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error (`ENOPROTOOPT` on an IPv4 socket).
    pub fn set_only_v6(&self, on: bool) -> io::Result<()> {
        self.inner.set_only_v6(on)
    }

    /// Sets `SO_SNDBUF` (the kernel doubles it and caps it at `net.core.wmem_max`).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_send_buffer_size(size)
    }

    /// Sets `SO_RCVBUF` (the kernel doubles it and caps it at `net.core.rmem_max`).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size)
    }

    /// Sets `TCP_NODELAY`; on a listener, accepted connections inherit it.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(on)
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.inner.set_keepalive(on)
    }

    /// Sets `SO_LINGER`; `Some(Duration::ZERO)` makes close send a reset.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// `bind(2)`'s error (`EADDRINUSE`, `EADDRNOTAVAIL`, ...).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        crate::addr::ip_from(&self.inner.local_addr()?)
    }

    /// Starts listening with a backlog of `backlog` pending connections (capped by
    /// `net.core.somaxconn`).
    ///
    /// # Errors
    ///
    /// `listen(2)`'s error.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        Ok(TcpListener::from_socket(Socket::from_socket2(self.inner)))
    }

    /// Connects to `addr` through the ring.
    ///
    /// # Errors
    ///
    /// `ECONNREFUSED`, `ETIMEDOUT`, `ENETUNREACH`, ...
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let sock = Socket::from_socket2(self.inner);
        sock.connect(SockAddr::from(addr)).await?;
        Ok(TcpStream::from_socket(sock))
    }
}
