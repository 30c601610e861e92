//! Moving a connection to another core: `into_std` on the source core, `from_std` on the target.
//!
//! Rules:
//! 1. A socket leaves its core only when no op in flight names its fd (not even an abandoned
//!    one waiting for its final CQE); otherwise `into_std` fails with [`IntoStdError`] and
//!    hands the socket back unchanged. Other handles cannot be in the way: split halves are
//!    reunited first, and an [`Incoming`](crate::Incoming) or a
//!    [`RecvStream`](crate::RecvStream) borrows its socket, so it is dropped (cancelling its
//!    op) before `into_std` can be called.
//! 2. The std type is `Send`: carry it to the target core (for example in a
//!    [`spawn_on`](ringbolt_runtime::spawn_on) closure) and rebind it there with `from_std`,
//!    which puts it on that core's ring.

use std::fmt;
use std::io;

/// The error of `into_std` (for example [`TcpStream::into_std`](crate::TcpStream::into_std))
/// while the socket still has ops in flight; it carries the socket back.
///
/// Converts into an [`io::Error`] of kind [`ResourceBusy`](io::ErrorKind::ResourceBusy), so
/// `?` works in functions returning `io::Result` (the socket is then dropped, which closes it
/// once its ops are done).
pub struct IntoStdError<T> {
    socket: T,
}

impl<T> IntoStdError<T> {
    pub(crate) fn new(socket: T) -> IntoStdError<T> {
        IntoStdError { socket }
    }

    /// The socket, unchanged and still usable on this core.
    pub fn into_inner(self) -> T {
        self.socket
    }
}

const MESSAGE: &str = "the socket cannot leave its core: operations on it are still in flight \
     (or waiting for their cancellation to complete); let them finish, or drop their futures \
     and let the cancellations complete, then try again";

impl<T> fmt::Debug for IntoStdError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoStdError")
            .field("reason", &MESSAGE)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for IntoStdError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MESSAGE)
    }
}

impl<T> std::error::Error for IntoStdError<T> {}

impl<T> From<IntoStdError<T>> for io::Error {
    fn from(_: IntoStdError<T>) -> io::Error {
        io::Error::new(io::ErrorKind::ResourceBusy, MESSAGE)
    }
}
