//! The read and write surface shared by TCP and Unix streams and their owned halves.

/// Read methods over a `Socket` field.
macro_rules! stream_read_methods {
    ($sock:ident) => {
        /// Reads into `buf` from its start, up to its capacity (`bytes_total`), and gives the
        /// buffer back. The count may be short.
        ///
        /// `Ok(0)` means the peer shut down its write side, unless `buf` has no capacity: an
        /// empty buffer returns `Ok(0)` at once.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe, as in tokio: dropping the future (a `select!` that took another
        /// branch, a `timeout`) loses no bytes. What the kernel had already received into the
        /// buffer is kept on the stream (shared with its split halves) and the next read
        /// returns it first, in order; the dropped buffer itself is gone with the future. To
        /// stop a read *and get the buffer back*, use [`read_timeout`](Self::read_timeout) (see
        /// `docs/cancellation.md`).
        ///
        /// # Errors
        ///
        /// The socket's error (`ECONNRESET`, ...); the buffer comes back either way.
        #[inline]
        pub fn read<B>(
            &self,
            buf: B,
        ) -> impl std::future::Future<Output = $crate::BufResult<usize, B>> + '_
        where
            B: $crate::IoBufMut, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&mut buf`
        {
            self.$sock.read(buf)
        }

        /// [`read`](Self::read) that gives up after `timeout`, **with the buffer back**: when
        /// the time is up the read is cancelled, its final completion awaited, and the same
        /// buffer returned with a `TimedOut` error. If the data won the race against the
        /// cancellation, the data is returned (`Ok(n)`) instead. Nothing stays in flight
        /// either way, so an idle-connection timeout loop reuses one allocation.
        ///
        /// Cancel-safe like `read`.
        ///
        /// # Examples
        ///
        /// ```
        /// use ringbolt_net::UnixStream;
        /// use std::time::Duration;
        ///
        /// let rt = ringbolt_runtime::Runtime::new()?;
        /// rt.block_on(async {
        ///     let (a, _b) = UnixStream::pair()?;
        ///     let buf = Vec::with_capacity(4096);
        ///     let ptr = buf.as_ptr();
        ///     let (res, buf) = a.read_timeout(buf, Duration::from_millis(5)).await;
        ///     assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        ///     assert_eq!(buf.as_ptr(), ptr); // the same buffer, ready for the next read
        ///     Ok::<(), std::io::Error>(())
        /// })?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        ///
        /// # Errors
        ///
        /// `TimedOut` when `timeout` passes first, or the socket's error; the buffer comes back
        /// either way.
        pub async fn read_timeout<B>(
            &self,
            buf: B,
            timeout: std::time::Duration,
        ) -> $crate::BufResult<usize, B>
        where
            B: $crate::IoBufMut, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&mut buf`
        {
            self.$sock.read_timeout(buf, timeout).await
        }

        /// Reads until `buf` is full to its capacity.
        ///
        /// An empty buffer succeeds at once.
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe (as in tokio): dropping the future drops `buf` with the bytes
        /// already read into it. The bytes of the read in flight at that moment are kept for
        /// the next read, as with [`read`](Self::read).
        ///
        /// # Errors
        ///
        /// `UnexpectedEof` if the stream ends first (the bytes read so far are in the buffer),
        /// or the socket's error.
        pub async fn read_exact<B>(&self, buf: B) -> $crate::BufResult<(), B>
        where
            B: $crate::IoBufMut, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&mut buf`
        {
            self.$sock.read_exact(buf).await
        }

        /// Scatter read: fills the buffers in order, each up to its capacity. At most 1024
        /// buffers take part. Cancel-safe like [`read`](Self::read).
        ///
        /// # Errors
        ///
        /// The socket's error; the buffers come back either way.
        pub async fn readv<B: $crate::IoBufMut>(
            &self,
            bufs: Vec<B>,
        ) -> $crate::BufResult<usize, Vec<B>> {
            self.$sock.readv(bufs).await
        }

        /// A multishot receive: the data as it arrives, in buffers the kernel picks from
        /// `ring` (see [`RecvStream`](crate::RecvStream)). Linux 6.0+.
        /// It borrows `self`: drop it before closing the stream. Cancel-safe: dropping it
        /// keeps the data it had received for the next read.
        pub fn recv_stream(&self, ring: &$crate::BufRing) -> $crate::RecvStream<'_> {
            $crate::recv_stream::RecvStream::new(&self.$sock, ring)
        }
    };
}

/// Write methods over a `Socket` field.
macro_rules! stream_write_methods {
    ($sock:ident) => {
        /// Writes the initialised part of `buf` (`MSG_NOSIGNAL`) and gives the buffer back. The
        /// count may be short; an empty buffer returns `Ok(0)` at once.
        ///
        /// # Errors
        ///
        /// `EPIPE` or `ECONNRESET` if the peer is gone (never `SIGPIPE`), or another socket
        /// error; the buffer comes back either way.
        #[inline]
        pub fn write<B>(
            &self,
            buf: B,
        ) -> impl std::future::Future<Output = $crate::BufResult<usize, B>> + '_
        where
            B: $crate::IoBuf, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&buf[..n]`
        {
            self.$sock.write(buf)
        }

        /// Writes all of the initialised part of `buf`, looping over short writes.
        ///
        /// # Errors
        ///
        /// As [`write`](Self::write); on error an unknown prefix of the buffer was sent.
        #[inline]
        pub fn write_all<B>(
            &self,
            buf: B,
        ) -> impl std::future::Future<Output = $crate::BufResult<(), B>> + '_
        where
            B: $crate::IoBuf, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&buf[..n]`
        {
            self.$sock.write_all(buf)
        }

        /// Gather write of the initialised parts of the buffers, in order (`sendmsg` with
        /// `MSG_NOSIGNAL`). The count may be short. At most 1024 buffers take part.
        ///
        /// # Errors
        ///
        /// As [`write`](Self::write).
        pub async fn writev<B: $crate::IoBuf>(
            &self,
            bufs: Vec<B>,
        ) -> $crate::BufResult<usize, Vec<B>> {
            self.$sock.writev(bufs).await
        }

        /// Sends `len` bytes of a file from offset `offset` without copying them through user
        /// memory (`IORING_OP_SPLICE` through a pipe; see
        /// [`io::sendfile`](ringbolt_runtime::io::sendfile)), and returns the bytes sent: fewer
        /// than `len` only if the file ended first. Pass an `fs::File`'s `shared_fd()`.
        ///
        /// # Errors
        ///
        /// As [`write`](Self::write), or `EINVAL` if `file` cannot be spliced from.
        pub async fn sendfile(
            &self,
            file: &ringbolt_runtime::SharedFd,
            offset: u64,
            len: u64,
        ) -> std::io::Result<u64> {
            ringbolt_runtime::io::sendfile(file, offset, len, self.$sock.shared_fd()).await
        }
    };
}

pub(crate) use {stream_read_methods, stream_write_methods};
