//! TCP: [`TcpListener`], [`TcpStream`] and the [`TcpSocket`] builder.
//!
//! [`TcpListener::bind`] binds exclusively (`EADDRINUSE` if the port is taken, as with std);
//! [`TcpListener::bind_reuseport`] sets `SO_REUSEPORT`, so one listener per core can bind the
//! same port and the kernel spreads connections across them. Use [`TcpSocket`] to choose the
//! backlog, reuse-port, IPv6-only and buffer sizes yourself.

mod builder;
mod direct;
mod listener;
mod send_zc;
mod stream;

pub use builder::TcpSocket;
pub use direct::DirectTcpStream;
pub use listener::TcpListener;
pub use stream::TcpStream;

/// The read half of a [`TcpStream`] after [`TcpStream::into_split`].
pub type OwnedReadHalf = crate::OwnedReadHalf<TcpStream>;
/// The write half of a [`TcpStream`] after [`TcpStream::into_split`].
pub type OwnedWriteHalf = crate::OwnedWriteHalf<TcpStream>;
