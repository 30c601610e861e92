use super::{new_socket, UnixStream};
use crate::addr::{unix_addr_of, unix_from, unix_path_to_socket2, unix_to_socket2, End};
use crate::socket::Socket;
use crate::Incoming;
use ringbolt_runtime::ops::net::SockAddr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// The backlog the Unix listener asks for.
const BACKLOG: i32 = 1024;

/// A Unix-domain stream listener on the current core's ring.
///
/// # Examples
///
/// ```
/// use ringbolt_net::{UnixListener, UnixStream};
/// use std::os::linux::net::SocketAddrExt;
/// use std::os::unix::net::SocketAddr;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let addr = SocketAddr::from_abstract_name(format!("ringbolt-doc-{}", std::process::id()))?;
///     let listener = UnixListener::bind_addr(&addr)?;
///     let client = UnixStream::connect_addr(&addr).await?;
///     let (server, _) = listener.accept().await?;
///     let (res, _) = client.write_all(b"hi".to_vec()).await;
///     res?;
///     let (res, buf) = server.read_exact(vec![0u8; 2]).await;
///     res?;
///     assert_eq!(&buf[..], b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixListener {
    sock: Socket,
}

impl UnixListener {
    /// Binds a listener to a filesystem path (or, if it starts with a NUL byte, an abstract
    /// name). The path must not exist yet.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a pathname contains a NUL byte or is too long; `bind(2)`'s error
    /// (`EADDRINUSE` if the path exists).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Self::bind_socket2(&unix_path_to_socket2(path.as_ref())?)
    }

    /// Binds a listener to an address (pathname or abstract).
    ///
    /// # Errors
    ///
    /// `bind(2)`'s error, or `InvalidInput` for an unnamed address.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        Self::bind_socket2(&unix_to_socket2(addr)?)
    }

    fn bind_socket2(addr: &SockAddr) -> io::Result<UnixListener> {
        let s = new_socket(socket2::Type::STREAM)?;
        s.bind(addr)?;
        s.listen(BACKLOG)?;
        Ok(UnixListener {
            sock: Socket::from_socket2(s),
        })
    }

    /// Takes over a std listener.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> UnixListener {
        UnixListener {
            sock: Socket::from_fd(OwnedFd::from(listener)),
        }
    }

    /// Accepts one connection. Cancel-safe: dropping the future cancels the accept, and a
    /// connection the kernel accepted anyway is kept on the listener for the next `accept` or
    /// [`incoming`](Self::incoming) (see [`TcpListener::accept`](crate::TcpListener::accept)).
    ///
    /// The peer's address is exact even where std cannot build it from parts (a peer bound
    /// to a 108-byte path without a terminating NUL, which any local user can do): it is then
    /// read back with `getpeername`, and if even that fails the address is unnamed. A
    /// connection is never dropped over its address.
    ///
    /// # Errors
    ///
    /// `accept(2)`'s error (`EMFILE`, ...).
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (sock, addr) = self.sock.accept().await?;
        let addr = match addr.as_ref().and_then(unix_from) {
            Some(addr) => addr,
            None => match unix_addr_of(sock.as_fd(), End::Peer) {
                Ok(addr) => addr,
                // The connection is what matters: hand it over with an unnamed address.
                Err(_) => crate::addr::unnamed()?,
            },
        };
        Ok((UnixStream::from_socket(sock), addr))
    }

    /// The stream of accepted connections; see [`Incoming`].
    pub fn incoming(&self) -> Incoming<'_, UnixStream> {
        Incoming::new(&self.sock, UnixStream::from_socket)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix_addr_of(self.sock.as_fd(), End::Local)
    }

    /// Closes the listener and reports `close(2)`'s result, after the accepts on it have ended
    /// (an [`Incoming`] borrows the listener, so it is dropped first, as for
    /// [`TcpListener::close`](crate::TcpListener::close)). The socket file of a pathname
    /// address stays; remove it yourself.
    ///
    /// # Errors
    ///
    /// `close(2)`'s error.
    pub async fn close(self) -> io::Result<()> {
        self.sock.close().await
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
