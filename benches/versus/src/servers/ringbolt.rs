//! ringbolt echo server: one runtime per server core, `SO_REUSEPORT` listeners.
//!
//! Not yet available: `ringbolt-net` has no `TcpListener` in this build. The contender is left
//! out of the default list until it does.

use std::io;

/// Whether this build has a ringbolt echo server.
pub const AVAILABLE: bool = false;

/// Would start the ringbolt server; for now says why it cannot.
///
/// # Errors
/// Always: ringbolt's net layer is not yet available.
pub fn start(_cores: &[usize], _buf_size: usize) -> io::Result<u16> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "ringbolt echo contender not yet available (ringbolt-net has no TcpListener yet)",
    ))
}
