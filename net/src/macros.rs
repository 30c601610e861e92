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
        /// # Errors
        ///
        /// The socket's error (`ECONNRESET`, ...); the buffer comes back either way.
        pub async fn read<B>(&self, buf: B) -> $crate::BufResult<usize, B>
        where
            B: $crate::IoBufMut, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&mut buf`
        {
            self.$sock.read(buf).await
        }

        /// Reads until `buf` is full to its capacity.
        ///
        /// An empty buffer succeeds at once.
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
        /// buffers take part.
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
        /// It borrows `self`: drop it before closing the stream.
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
        pub async fn write<B>(&self, buf: B) -> $crate::BufResult<usize, B>
        where
            B: $crate::IoBuf, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&buf[..n]`
        {
            self.$sock.write(buf).await
        }

        /// Writes all of the initialised part of `buf`, looping over short writes.
        ///
        /// # Errors
        ///
        /// As [`write`](Self::write); on error an unknown prefix of the buffer was sent.
        pub async fn write_all<B>(&self, buf: B) -> $crate::BufResult<(), B>
        where
            B: $crate::IoBuf, // owned buffers only: pass `buf` or `buf.slice(..n)`, not `&buf[..n]`
        {
            self.$sock.write_all(buf).await
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
