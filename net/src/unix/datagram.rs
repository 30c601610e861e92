use super::new_socket;
use crate::addr::{
    unix_addr_of, unix_from, unix_path_to_socket2, unix_to_op, unix_to_socket2, End,
};
use crate::socket::Socket;
use crate::RecvMeta;
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
use ringbolt_runtime::ops::net::{unix_abstract, unix_path, SockAddr};
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix-domain datagram socket on the current core's ring.
///
/// # Examples
///
/// ```
/// use ringbolt_net::UnixDatagram;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let (a, b) = UnixDatagram::pair()?;
///     let (res, _) = a.send(Vec::new()).await; // an empty datagram
///     assert_eq!(res?, 0);
///     let (res, _) = b.recv(vec![0u8; 8]).await;
///     assert_eq!(res?, 0);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    sock: Socket,
}

impl UnixDatagram {
    /// A datagram socket bound to a filesystem path (or, if it starts with a NUL byte, an
    /// abstract name).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a pathname contains a NUL byte or is too long; `bind(2)`'s error.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        Self::bind_socket2(&unix_path_to_socket2(path.as_ref())?)
    }

    /// A datagram socket bound to `addr` (pathname or abstract).
    ///
    /// # Errors
    ///
    /// `bind(2)`'s error, or `InvalidInput` for an unnamed address.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        Self::bind_socket2(&unix_to_socket2(addr)?)
    }

    fn bind_socket2(addr: &SockAddr) -> io::Result<UnixDatagram> {
        let s = new_socket(socket2::Type::DGRAM)?;
        s.bind(addr)?;
        Ok(UnixDatagram {
            sock: Socket::from_socket2(s),
        })
    }

    /// An unbound datagram socket (it can send; peers see an unnamed sender).
    ///
    /// # Errors
    ///
    /// `socket(2)`'s error.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            sock: Socket::from_socket2(new_socket(socket2::Type::DGRAM)?),
        })
    }

    /// Two connected datagram sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// `socketpair(2)`'s error.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a), UnixDatagram::from_std(b)))
    }

    /// Takes over a std datagram socket.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            sock: Socket::from_fd(OwnedFd::from(socket)),
        }
    }

    /// Sets the default destination for [`send`](Self::send) (a local operation).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a pathname contains a NUL byte or is too long; `connect(2)`'s error
    /// (`ENOENT`, `ECONNREFUSED`).
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.sock
            .sock_ref()
            .connect(&unix_path_to_socket2(path.as_ref())?)
    }

    /// Sets the default destination for [`send`](Self::send) to `addr`.
    ///
    /// # Errors
    ///
    /// `connect(2)`'s error, or `InvalidInput` for an unnamed address.
    pub fn connect_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        self.sock.sock_ref().connect(&unix_to_socket2(addr)?)
    }

    /// Sends one datagram to the socket bound at `path` (a leading NUL byte: abstract name).
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ECONNREFUSED`, `EMSGSIZE`, ...
    pub async fn send_to<B: IoBuf>(&self, buf: B, path: impl AsRef<Path>) -> BufResult<usize, B> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_ref().as_os_str().as_bytes();
        let addr = match bytes.split_first() {
            Some((0, name)) => unix_abstract(name),
            _ => unix_path(path.as_ref()),
        };
        match addr {
            Ok(addr) => self.sock.send_to(buf, addr).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Sends one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// As [`send_to`](Self::send_to), or `InvalidInput` for an unnamed address.
    pub async fn send_to_addr<B: IoBuf>(&self, buf: B, addr: &SocketAddr) -> BufResult<usize, B> {
        match unix_to_op(addr) {
            Ok(addr) => self.sock.send_to(buf, addr).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if not connected, or the socket's error.
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.sock.send(buf).await
    }

    /// Receives one datagram; returns the bytes placed and the sender (a longer datagram's
    /// tail is discarded; [`recv_msg`](Self::recv_msg) reports it).
    ///
    /// A sender bound to a 108-byte path without a terminating NUL (which Linux allows and
    /// std cannot build from parts) is reported as unnamed: the datagram is never dropped
    /// over its sender's address.
    ///
    /// # Errors
    ///
    /// The socket's error; the buffer comes back either way.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        let (res, buf) = self.recv_msg(buf).await;
        (res.map(|m| (m.len, m.addr)), buf)
    }

    /// Receives one datagram and reports its full length, truncation and sender (unnamed
    /// where std cannot hold it, as for [`recv_from`](Self::recv_from)).
    ///
    /// # Errors
    ///
    /// The socket's error; the buffer comes back either way.
    pub async fn recv_msg<B: IoBufMut>(&self, buf: B) -> BufResult<RecvMeta<SocketAddr>, B> {
        let cap = buf.bytes_total();
        let (res, buf) = self.sock.recv_msg(buf).await;
        let res = res.and_then(|out| {
            let addr = match unix_from(&out.addr) {
                Some(addr) => addr,
                None => crate::addr::unnamed()?,
            };
            Ok(RecvMeta {
                len: out.len.min(cap),
                datagram_len: out.len,
                addr,
            })
        });
        (res, buf)
    }

    /// Receives one datagram; returns the bytes placed.
    ///
    /// # Errors
    ///
    /// The socket's error; the buffer comes back either way.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.sock.recv(buf).await
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// `shutdown(2)`'s error.
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix_addr_of(self.sock.as_fd(), End::Local)
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        unix_addr_of(self.sock.as_fd(), End::Peer)
    }

    /// Closes the socket once every op on it has completed, and reports `close(2)`'s result.
    ///
    /// # Errors
    ///
    /// `close(2)`'s error.
    pub async fn close(self) -> io::Result<()> {
        self.sock.close().await
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
