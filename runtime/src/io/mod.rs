//! Owned-buffer I/O traits: generic code over "a ringbolt stream".
//!
//! [`AsyncReadOwned`] and [`AsyncWriteOwned`] are the completion-native counterparts of
//! tokio's `AsyncRead`/`AsyncWrite`: a buffer goes in by value and comes back with the result,
//! `(io::Result<T>, B)`, because the kernel uses it after the call returns. `TcpStream`,
//! `UnixStream` and their owned halves implement them (in `ringbolt-net`), so one function can
//! serve TCP and Unix connections alike; [`BufReader`] adds lines and delimiters on top, and
//! [`copy`], [`copy_bidirectional`] and [`sendfile`] move data between them.
//!
//! Rules:
//! 1. A read fills the buffer from its start up to its capacity ([`IoBuf::bytes_total`]) and
//!    leaves it holding exactly the bytes read (see [`crate::buf`]); `Ok(0)` from a buffer with
//!    capacity means end of stream. To read at most `n` bytes, pass `buf.slice(..n)`.
//! 2. A write sends the initialised part of the buffer, `[0, bytes_init)`; the count may be
//!    short, and the `*_all` methods loop until everything is sent.
//! 3. The buffer comes back on success and on error alike.
//! 4. Dropping a read or write future before it completes cancels the operation; bytes it had
//!    already moved are lost with it (they were in the buffer the op owned). Use these futures
//!    in `select!` only when losing a partial transfer is acceptable.
//! 5. The traits take `&mut self`: an implementation may keep state between calls (a TLS
//!    session, a buffered reader). To read and write one stream at the same time, split it
//!    ([`SplitOwned`]).
//!
//! # Examples
//!
//! A line echo written once for any stream:
//!
//! ```
//! use ringbolt_runtime::io::{AsyncReadOwned, AsyncWriteOwned, BufReader};
//!
//! async fn echo_lines<S: AsyncReadOwned + AsyncWriteOwned>(stream: S) -> std::io::Result<()> {
//!     let mut stream = BufReader::new(stream);
//!     let mut line = String::new();
//!     while stream.read_line(&mut line).await? != 0 {
//!         let (res, _) = stream.write_all(std::mem::take(&mut line)).await;
//!         res?;
//!     }
//!     Ok(())
//! }
//! ```

mod buf_reader;
mod copy;
mod sendfile;

pub use buf_reader::{BufReader, Lines};
pub use copy::{copy, copy_bidirectional, SplitOwned, COPY_BUF_SIZE};
pub use sendfile::sendfile;

use crate::buf::{BufResult, IoBuf, IoBufMut};
use std::future::Future;
use std::io;

/// A source of bytes read into owned buffers: `read(buf)` gives back `(io::Result<n>, buf)`.
///
/// Implement [`read`](Self::read); the other methods have provided bodies built on it.
/// Implemented by `TcpStream`, `UnixStream`, their `OwnedReadHalf`s and [`BufReader`].
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::io::AsyncReadOwned;
///
/// async fn read_header<R: AsyncReadOwned>(r: &mut R) -> std::io::Result<[u8; 4]> {
///     let (res, buf) = r.read_exact(vec![0u8; 4]).await;
///     res?;
///     Ok([buf[0], buf[1], buf[2], buf[3]])
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned-buffer reader",
    note = "implemented by `TcpStream`, `UnixStream`, their `OwnedReadHalf`s, `BufReader<_>` and `&mut` of those; a `fs::File` reads at positions with `read_at`"
)]
pub trait AsyncReadOwned {
    /// Reads into `buf` from its start, up to its capacity, and gives it back holding exactly
    /// the bytes read. The count may be short; `Ok(0)` means end of stream unless `buf` has no
    /// capacity.
    ///
    /// # Errors
    ///
    /// The source's error; the buffer comes back either way.
    fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>>;

    /// Scatter read: fills the buffers in order, each up to its capacity. The provided body
    /// reads into the first buffer with capacity only; sockets override it with one `readv`.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    fn readv<B: IoBufMut>(
        &mut self,
        mut bufs: Vec<B>,
    ) -> impl Future<Output = BufResult<usize, Vec<B>>> {
        async move {
            let Some(i) = bufs.iter().position(|b| b.bytes_total() > 0) else {
                return (Ok(0), bufs);
            };
            let first = bufs.remove(i);
            let (res, first) = self.read(first).await;
            bufs.insert(i, first);
            (res, bufs)
        }
    }

    /// Reads until `buf` is full to its capacity (module rule 1; pass `buf.slice(..n)` for
    /// exactly `n` bytes). An empty buffer succeeds at once.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (the bytes read so far are in the buffer), or
    /// the source's error.
    fn read_exact<B: IoBufMut>(&mut self, mut buf: B) -> impl Future<Output = BufResult<(), B>> {
        async move {
            let total = buf.bytes_total();
            let mut filled = 0;
            while filled < total {
                let (res, slice) = self.read(buf.slice(filled..)).await;
                buf = slice.into_inner();
                match res {
                    Ok(0) => {
                        let e = io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("end of stream after {filled} of {total} bytes"),
                        );
                        return (Err(e), buf);
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(()), buf)
        }
    }

    /// Reads until end of stream, appending to `buf` (growing it as needed), and returns the
    /// number of bytes appended.
    ///
    /// # Errors
    ///
    /// The source's error; the bytes read before it are in the buffer.
    fn read_to_end(&mut self, mut buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        async move {
            let start = buf.len();
            loop {
                if buf.capacity() - buf.len() < 512 {
                    buf.reserve(buf.capacity().clamp(8 * 1024, 1 << 20));
                }
                let len = buf.len();
                let (res, slice) = self.read(buf.slice(len..)).await;
                buf = slice.into_inner();
                match res {
                    Ok(0) => return (Ok(buf.len() - start), buf),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
        }
    }
}

/// A sink of bytes written from owned buffers: `write(buf)` gives back `(io::Result<n>, buf)`.
///
/// Implement [`write`](Self::write) and [`shutdown`](Self::shutdown); the others have provided
/// bodies. Implemented by `TcpStream`, `UnixStream` and their `OwnedWriteHalf`s.
///
/// On a concrete `TcpStream`, the inherent `shutdown(how)` takes precedence over this trait's
/// `shutdown()`; call `AsyncWriteOwned::shutdown(&mut stream)` to use the trait's.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned-buffer writer",
    note = "implemented by `TcpStream`, `UnixStream`, their `OwnedWriteHalf`s, `BufReader<_>` over a writer and `&mut` of those; a `fs::File` writes at positions with `write_all_at`"
)]
pub trait AsyncWriteOwned {
    /// Writes the initialised part of `buf`; the count may be short. An empty buffer returns
    /// `Ok(0)` at once.
    ///
    /// # Errors
    ///
    /// The sink's error (`EPIPE`, `ECONNRESET`, ...); the buffer comes back either way.
    fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>>;

    /// Gather write of the initialised parts of the buffers, in order. The provided body
    /// writes the first non-empty buffer only; sockets override it with one `sendmsg`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    fn writev<B: IoBuf>(
        &mut self,
        mut bufs: Vec<B>,
    ) -> impl Future<Output = BufResult<usize, Vec<B>>> {
        async move {
            let Some(i) = bufs.iter().position(|b| b.bytes_init() > 0) else {
                return (Ok(0), bufs);
            };
            let first = bufs.remove(i);
            let (res, first) = self.write(first).await;
            bufs.insert(i, first);
            (res, bufs)
        }
    }

    /// Sends whatever the sink buffers. Sockets buffer nothing, so for them it is a no-op.
    ///
    /// # Errors
    ///
    /// The sink's error.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
        async { Ok(()) }
    }

    /// Shuts down the write direction: the peer reads end of stream once the data sent so far
    /// has arrived. Reading goes on.
    ///
    /// # Errors
    ///
    /// The sink's error (`ENOTCONN`).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>>;

    /// Writes all of the initialised part of `buf`, looping over short writes.
    ///
    /// # Errors
    ///
    /// `WriteZero` if the sink accepts no byte, or the sink's error; on error an unknown prefix
    /// of the buffer was sent.
    fn write_all<B: IoBuf>(&mut self, mut buf: B) -> impl Future<Output = BufResult<(), B>> {
        async move {
            let len = buf.bytes_init();
            let mut done = 0;
            while done < len {
                let (res, slice) = self.write(buf.slice(done..len)).await;
                buf = slice.into_inner();
                match res {
                    Ok(0) => return (Err(write_zero(done, len)), buf),
                    Ok(n) => done += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(()), buf)
        }
    }

    /// Writes all of the initialised parts of the buffers, in order, with gather writes,
    /// looping over short writes (a buffer written in part is resumed where it stopped).
    ///
    /// # Errors
    ///
    /// As [`write_all`](Self::write_all); the buffers come back in their original order.
    fn writev_all<B: IoBuf>(
        &mut self,
        bufs: Vec<B>,
    ) -> impl Future<Output = BufResult<(), Vec<B>>> {
        async move {
            let total: usize = bufs.iter().map(|b| b.bytes_init()).sum();
            let mut sent = 0;
            let mut done: Vec<B> = Vec::with_capacity(bufs.len());
            let mut rest: std::collections::VecDeque<B> = bufs.into();
            // Bytes of rest[0] already sent.
            let mut off = 0;
            loop {
                while rest.front().is_some_and(|b| off >= b.bytes_init()) {
                    done.extend(rest.pop_front());
                    off = 0;
                }
                if rest.is_empty() {
                    return (Ok(()), done);
                }
                let batch: Vec<_> = rest
                    .drain(..)
                    .enumerate()
                    .map(|(i, b)| {
                        let end = b.bytes_init();
                        b.slice(if i == 0 { off } else { 0 }..end)
                    })
                    .collect();
                let (res, batch) = self.writev(batch).await;
                rest = batch.into_iter().map(|s| s.into_inner()).collect();
                let mut n = match res {
                    Ok(0) => {
                        done.extend(rest);
                        return (Err(write_zero(sent, total)), done);
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                    Err(e) => {
                        done.extend(rest);
                        return (Err(e), done);
                    }
                };
                sent += n;
                while n > 0 {
                    let Some(front) = rest.front() else { break };
                    let left = front.bytes_init() - off;
                    if n >= left {
                        n -= left;
                        done.extend(rest.pop_front());
                        off = 0;
                    } else {
                        off += n;
                        n = 0;
                    }
                }
            }
        }
    }
}

fn write_zero(done: usize, total: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::WriteZero,
        format!("the sink accepted no bytes after {done} of {total}; is the peer gone?"),
    )
}

impl<T: AsyncReadOwned + ?Sized> AsyncReadOwned for &mut T {
    fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        (**self).read(buf)
    }
    fn readv<B: IoBufMut>(
        &mut self,
        bufs: Vec<B>,
    ) -> impl Future<Output = BufResult<usize, Vec<B>>> {
        (**self).readv(bufs)
    }
    fn read_exact<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        (**self).read_exact(buf)
    }
}

impl<T: AsyncWriteOwned + ?Sized> AsyncWriteOwned for &mut T {
    fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        (**self).write(buf)
    }
    fn writev<B: IoBuf>(&mut self, bufs: Vec<B>) -> impl Future<Output = BufResult<usize, Vec<B>>> {
        (**self).writev(bufs)
    }
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
        (**self).flush()
    }
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        (**self).shutdown()
    }
    fn write_all<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        (**self).write_all(buf)
    }
}
