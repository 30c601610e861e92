//! Zero-copy sends on TCP streams and their write halves (`IORING_OP_SEND_ZC`, Linux 6.0+).
//!
//! Rules:
//! 1. The buffer comes back only after the kernel's notification that it stopped reading it
//!    (for TCP: once the data was acknowledged), never at the send's result alone.
//! 2. A future dropped in flight leaves the buffer with the runtime until that notification;
//!    it is freed then, never earlier.
//! 3. Where the kernel lacks the opcode the methods fail with `ErrorKind::Unsupported` and a
//!    message naming it; nothing is sent.

use super::{OwnedWriteHalf, TcpStream};
use crate::{BufResult, IoBuf};

impl TcpStream {
    /// Sends the initialised part of `buf` without copying it into the kernel (zero copy),
    /// and gives the buffer back once the kernel no longer reads it. The count may be short;
    /// an empty buffer returns `Ok(0)` at once.
    ///
    /// The future resolves only after the kernel's completion *notification*, which for TCP
    /// comes when the peer has acknowledged the data, so each call costs about a round trip
    /// more than [`write`](Self::write); keep several buffers in flight (one task each, or
    /// [`into_split`](Self::into_split)) to stream at full speed.
    ///
    /// Zero copy pays for large buffers (tens of KiB and up) sent through a NIC with
    /// scatter-gather. Over loopback the kernel copies the data anyway, and plain
    /// [`write`](Self::write) is usually faster.
    ///
    /// # Errors
    ///
    /// `ErrorKind::Unsupported` (naming `IORING_OP_SEND_ZC`) on kernels before 6.0; otherwise as
    /// [`write`](Self::write). The buffer comes back either way.
    pub async fn send_zc<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.socket().send_zc(buf).await
    }

    /// Sends all of the initialised part of `buf` with zero copy (see
    /// [`send_zc`](Self::send_zc)), and gives the buffer back once the kernel no longer reads
    /// it. One op normally carries the whole buffer (`MSG_WAITALL`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringbolt_net::{TcpListener, TcpStream};
    /// use std::io::Read;
    ///
    /// ringbolt_runtime::Runtime::new()?.block_on(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut peer, _) = listener.accept()?;
    ///     let (res, buf) = stream.write_all_zc(vec![7u8; 64 * 1024]).await;
    ///     match res {
    ///         Ok(()) => {}
    ///         // Kernels before 6.0: fall back to a copying write.
    ///         Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
    ///             stream.write_all(buf).await.0?;
    ///         }
    ///         Err(e) => return Err(e),
    ///     }
    ///     let mut got = vec![0u8; 64 * 1024];
    ///     peer.read_exact(&mut got)?;
    ///     assert!(got.iter().all(|&b| b == 7));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send_zc`](Self::send_zc); on error an unknown prefix of the buffer was sent.
    pub async fn write_all_zc<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        self.socket().write_all_zc(buf).await
    }
}

impl OwnedWriteHalf {
    /// [`TcpStream::send_zc`] on the write half.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::send_zc`].
    pub async fn send_zc<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        self.socket().send_zc(buf).await
    }

    /// [`TcpStream::write_all_zc`] on the write half.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all_zc`].
    pub async fn write_all_zc<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        self.socket().write_all_zc(buf).await
    }
}
