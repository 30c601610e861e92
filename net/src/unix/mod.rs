//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with [`UnixStream::pair`]) and
//! [`UnixDatagram`], with pathname and Linux abstract-namespace addresses.
//!
//! Addresses are std's [`std::os::unix::net::SocketAddr`]; build an abstract one with
//! [`SocketAddrExt::from_abstract_name`](std::os::linux::net::SocketAddrExt::from_abstract_name)
//! and pass it to the `*_addr` constructors. A path whose first byte is NUL is also taken as
//! an abstract name.

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::UnixStream;

use std::io;

/// The read half of a [`UnixStream`] after [`UnixStream::into_split`].
pub type OwnedReadHalf = crate::OwnedReadHalf<UnixStream>;
/// The write half of a [`UnixStream`] after [`UnixStream::into_split`].
pub type OwnedWriteHalf = crate::OwnedWriteHalf<UnixStream>;

/// A new close-on-exec Unix socket of type `ty`.
fn new_socket(ty: socket2::Type) -> io::Result<socket2::Socket> {
    socket2::Socket::new(socket2::Domain::UNIX, ty, None)
}
