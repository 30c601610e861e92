//! Owned read and write halves of a stream, so one task can read while another writes.

use crate::macros::{stream_read_methods, stream_write_methods};
use crate::socket::Socket;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::net::Shutdown;

/// The read half of a [`TcpStream`](crate::TcpStream) or [`UnixStream`](crate::UnixStream),
/// from `into_split`.
///
/// Both halves share the socket; it is closed when both are dropped (and every op on it has
/// completed). Put them back together with [`OwnedReadHalf::reunite`].
pub struct OwnedReadHalf<S> {
    sock: Socket,
    wrap: fn(Socket) -> S,
}

/// The write half of a [`TcpStream`](crate::TcpStream) or [`UnixStream`](crate::UnixStream),
/// from `into_split`.
///
/// Dropping it shuts the write side down, as tokio's does: the peer reads end of stream
/// while the read half goes on reading (a proxy that drops its write half when one direction
/// ends does not leave its client hanging). [`OwnedWriteHalf::shutdown`] does the same and
/// reports errors. Halves put back together with `reunite` do not shut anything down.
pub struct OwnedWriteHalf<S> {
    sock: Socket,
    /// False once the half is being reunited with its read half.
    shutdown_on_drop: bool,
    _stream: PhantomData<fn() -> S>,
}

impl<S> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // A plain shutdown(2), as tokio does: it cannot block. ENOTCONN (the peer is gone
            // already) is not worth reporting from a drop.
            let _ = self.sock.sock_ref().shutdown(Shutdown::Write);
        }
    }
}

/// The halves given to `reunite` came from different streams; both are given back.
pub struct ReuniteError<S>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of different streams")
    }
}

impl<S> std::error::Error for ReuniteError<S> {}

impl<S> fmt::Debug for OwnedReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&self.sock).finish()
    }
}

impl<S> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&self.sock).finish()
    }
}

/// Splits a stream's socket into two halves.
pub(crate) fn split<S>(
    sock: Socket,
    wrap: fn(Socket) -> S,
) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    (
        OwnedReadHalf {
            sock: sock.clone(),
            wrap,
        },
        OwnedWriteHalf {
            sock,
            shutdown_on_drop: true,
            _stream: PhantomData,
        },
    )
}

impl<S> OwnedReadHalf<S> {
    stream_read_methods!(sock);

    /// Puts the stream back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (holding both halves) if they came from different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if self.sock.same_as(&other.sock) {
            other.shutdown_on_drop = false;
            drop(other);
            Ok((self.wrap)(self.sock))
        } else {
            Err(ReuniteError(self, other))
        }
    }
}

impl<S> OwnedWriteHalf<S> {
    stream_write_methods!(sock);

    /// Shuts down the write side: the peer reads end of stream once the data sent so far has
    /// arrived. The read half keeps working.
    ///
    /// # Errors
    ///
    /// The socket's error (`ENOTCONN`).
    pub async fn shutdown(&self) -> io::Result<()> {
        self.sock.shutdown(Shutdown::Write).await
    }

    /// Puts the stream back together; see [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if the halves came from different streams.
    pub fn reunite(self, other: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        other.reunite(self)
    }
}

impl<S> OwnedWriteHalf<S> {
    /// The socket, for write methods defined next to their stream type (`tcp/send_zc.rs`).
    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }
}
