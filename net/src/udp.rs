//! UDP: [`UdpSocket`] with truncation reporting and broadcast/multicast options.

use crate::addr::{ip_from, resolve};
use crate::socket::Socket;
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
use ringbolt_runtime::ops::net::SockAddr;
use socket2::{Domain, Protocol, Type};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// What [`UdpSocket::recv_msg`] (and [`UnixDatagram::recv_msg`](crate::UnixDatagram::recv_msg))
/// report about a received datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvMeta<A = SocketAddr> {
    /// Bytes placed in the buffer.
    pub len: usize,
    /// The datagram's full length; more than `len` when it did not fit and was truncated.
    pub datagram_len: usize,
    /// The sender.
    pub addr: A,
}

impl<A> RecvMeta<A> {
    /// Whether the datagram was longer than the buffer and its tail was discarded
    /// (`MSG_TRUNC`).
    pub fn is_truncated(&self) -> bool {
        self.datagram_len > self.len
    }
}

/// A UDP socket on the current core's ring.
///
/// Every datagram is sent with one `sendmsg`/`send` (`MSG_NOSIGNAL`) and received with one
/// `recvmsg`/`recv`; empty datagrams are sent and received as such.
///
/// # Examples
///
/// ```
/// use ringbolt_net::UdpSocket;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0")?;
///     let b = UdpSocket::bind("127.0.0.1:0")?;
///     let (res, _) = a.send_to(b"hello".to_vec(), b.local_addr()?).await;
///     res?;
///     let (res, buf) = b.recv_msg(vec![0u8; 3]).await;
///     let meta = res?;
///     assert_eq!(&buf[..], b"hel");
///     assert!(meta.is_truncated() && meta.datagram_len == 5);
///     assert_eq!(meta.addr, a.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    sock: Socket,
}

impl UdpSocket {
    /// Binds a UDP socket to `addr` (the first address it resolves to that works). A host
    /// name is resolved with a blocking lookup on this thread: pass a numeric address on a
    /// busy core.
    ///
    /// # Errors
    ///
    /// The last address's `bind(2)` error.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last = None;
        for addr in resolve(addr)? {
            let res =
                socket2::Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
                    .and_then(|s| s.bind(&addr.into()).map(|()| s));
            match res {
                Ok(s) => {
                    return Ok(UdpSocket {
                        sock: Socket::from_socket2(s),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    /// Takes over a std UDP socket.
    pub fn from_std(socket: std::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            sock: Socket::from_fd(OwnedFd::from(socket)),
        }
    }

    /// Sets the default destination for [`send`](Self::send) and the only source
    /// [`recv`](Self::recv) accepts (a local operation; nothing is sent). A host name is
    /// resolved with a blocking lookup on this thread: pass a numeric address on a busy core.
    ///
    /// # Errors
    ///
    /// `connect(2)`'s error for every address `addr` resolves to.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last = None;
        for addr in resolve(addr)? {
            match self.sock.sock_ref().connect(&addr.into()) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }

    /// Sends `buf`'s initialised part as one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// `EMSGSIZE` if too long for UDP, `ECONNREFUSED` after an ICMP port-unreachable, ...;
    /// the buffer comes back either way.
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: SocketAddr) -> BufResult<usize, B> {
        self.sock.send_to(buf, SockAddr::from(addr)).await
    }

    /// Sends `buf`'s initialised part as one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `EDESTADDRREQ` if not connected, or as [`send_to`](Self::send_to).
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.sock.send(buf).await
    }

    /// Receives one datagram into `buf` (up to its capacity) and returns the bytes placed and
    /// the sender. A longer datagram's tail is discarded; use [`recv_msg`](Self::recv_msg) to
    /// learn about it.
    ///
    /// # Errors
    ///
    /// The socket's error; the buffer comes back either way.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        let (res, buf) = self.recv_msg(buf).await;
        (res.map(|m| (m.len, m.addr)), buf)
    }

    /// Receives one datagram into `buf` and reports its full length, whether it was
    /// truncated, and the sender.
    ///
    /// # Errors
    ///
    /// The socket's error; the buffer comes back either way.
    pub async fn recv_msg<B: IoBufMut>(&self, buf: B) -> BufResult<RecvMeta, B> {
        let cap = buf.bytes_total();
        let (res, buf) = self.sock.recv_msg(buf).await;
        let res = res.and_then(|out| {
            Ok(RecvMeta {
                len: out.len.min(cap),
                datagram_len: out.len,
                addr: ip_from(&out.addr)?,
            })
        });
        (res, buf)
    }

    /// Receives one datagram from the connected peer into `buf`; returns the bytes placed (a
    /// longer datagram's tail is discarded).
    ///
    /// # Errors
    ///
    /// The socket's error (`ECONNREFUSED` after an ICMP port-unreachable).
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        self.sock.recv(buf).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ip_from(&self.sock.sock_ref().local_addr()?)
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ip_from(&self.sock.sock_ref().peer_addr()?)
    }

    /// Sets `SO_BROADCAST` (allows sending to a broadcast address).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.sock.sock_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// `getsockopt(2)`'s error.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.sock.sock_ref().broadcast()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.sock.sock_ref().set_multicast_loop_v4(on)
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.sock.sock_ref().set_multicast_ttl_v4(ttl)
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.sock.sock_ref().set_multicast_loop_v6(on)
    }

    /// Joins IPv4 multicast group `group` on the interface with address `interface`
    /// (`0.0.0.0`: the default one).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.sock.sock_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.sock.sock_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins IPv6 multicast group `group` on interface index `interface` (0: any).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.sock_ref().join_multicast_v6(&group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.sock_ref().leave_multicast_v6(&group, interface)
    }

    /// Sets `IP_TTL`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.sock_ref().set_ttl_v4(ttl)
    }

    /// Sets `SO_RCVBUF` (how many bytes of datagrams wait before new ones are dropped).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock.sock_ref().set_recv_buffer_size(size)
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)`'s error.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock.sock_ref().set_send_buffer_size(size)
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

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
