//! [`BufReader`]: lines and delimiters over any [`AsyncReadOwned`].

use super::{AsyncReadOwned, AsyncWriteOwned};
use crate::buf::{BufResult, IoBuf, IoBufMut};
use std::future::Future;
use std::io;

/// The default buffer size of a [`BufReader`]: 8 KiB.
const DEFAULT_CAPACITY: usize = 8 * 1024;

/// Adds a buffer to a reader, for reading lines ([`read_line`](Self::read_line),
/// [`lines`](Self::lines)), up to a delimiter ([`read_until`](Self::read_until)) or in small
/// pieces without one op per piece.
///
/// The buffer is owned and goes to the kernel by value, so each refill is one read op of up to
/// the buffer's capacity. Writes pass straight through to the inner stream when it is also a
/// writer, so one `BufReader<TcpStream>` serves a request/response protocol.
///
/// # Cancellation
///
/// [`read_until`](Self::read_until) is cancel-safe: what it consumed is in the caller's `Vec`.
/// [`read_line`](Self::read_line) and [`Lines::next_line`] are not: a partial line read before
/// the future was dropped is lost. A refill dropped in flight loses what that read op moved
/// (module rule 4); the reader stays usable.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::io::{AsyncReadOwned, BufReader};
///
/// async fn count_lines<R: AsyncReadOwned>(r: R) -> std::io::Result<usize> {
///     let mut lines = BufReader::new(r).lines();
///     let mut n = 0;
///     while let Some(_line) = lines.next_line().await? {
///         n += 1;
///     }
///     Ok(n)
/// }
/// ```
#[derive(Debug)]
pub struct BufReader<R> {
    inner: R,
    /// Holds exactly the bytes of the last refill; `buf[pos..]` is unread.
    buf: Vec<u8>,
    pos: usize,
    capacity: usize,
}

impl<R> BufReader<R> {
    /// A reader with an 8 KiB buffer.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// A reader whose refills read up to `capacity` bytes (at least 1).
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        let capacity = capacity.max(1);
        BufReader {
            inner,
            buf: Vec::with_capacity(capacity),
            pos: 0,
            capacity,
        }
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader; reading from it directly skips what is buffered.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader; buffered bytes are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The buffered, unread bytes.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Marks `amt` buffered bytes as read (clamped to what is buffered).
    pub fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.buf.len());
    }
}

impl<R: AsyncReadOwned> BufReader<R> {
    /// The buffered bytes, refilling with one read when none are left. Empty at end of
    /// stream. Call [`consume`](Self::consume) with what was used.
    ///
    /// # Errors
    ///
    /// The inner reader's error.
    pub async fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.buf.len() {
            let mut buf = std::mem::take(&mut self.buf);
            if buf.capacity() < self.capacity {
                // The buffer went down with a cancelled refill.
                buf = Vec::with_capacity(self.capacity);
            }
            self.pos = 0;
            let (res, buf) = self.inner.read(buf).await;
            self.buf = buf;
            if let Err(e) = res {
                self.buf.clear();
                return Err(e);
            }
        }
        Ok(&self.buf[self.pos..])
    }

    /// Appends bytes to `buf` up to and including `byte`, or to end of stream, and returns how
    /// many were appended (0 at end of stream).
    ///
    /// # Errors
    ///
    /// The inner reader's error; the bytes appended before it stay in `buf`.
    pub async fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> io::Result<usize> {
        let mut read = 0;
        loop {
            let (found, used) = {
                let avail = match self.fill_buf().await {
                    Ok(a) => a,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                match avail.iter().position(|&b| b == byte) {
                    Some(i) => {
                        buf.extend_from_slice(&avail[..=i]);
                        (true, i + 1)
                    }
                    None => {
                        buf.extend_from_slice(avail);
                        (avail.is_empty(), avail.len())
                    }
                }
            };
            self.consume(used);
            read += used;
            if found {
                return Ok(read);
            }
        }
    }

    /// Appends one line, with its `\n` (if the stream did not end first), to `buf` and returns
    /// the number of bytes appended (0 at end of stream).
    ///
    /// # Errors
    ///
    /// `InvalidData` if the line is not UTF-8 (then `buf` is unchanged), or the inner reader's
    /// error.
    pub async fn read_line(&mut self, buf: &mut String) -> io::Result<usize> {
        let mut line = Vec::new();
        let n = self.read_until(b'\n', &mut line).await?;
        match String::from_utf8(line) {
            Ok(s) => {
                buf.push_str(&s);
                Ok(n)
            }
            Err(e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("stream did not contain valid UTF-8: {e}"),
            )),
        }
    }

    /// The lines of the stream, without their `\n` or `\r\n`.
    pub fn lines(self) -> Lines<R> {
        Lines { reader: self }
    }
}

/// The lines of a [`BufReader`], from [`BufReader::lines`].
#[derive(Debug)]
pub struct Lines<R> {
    reader: BufReader<R>,
}

impl<R: AsyncReadOwned> Lines<R> {
    /// The next line without its line ending, or `None` at end of stream.
    ///
    /// # Errors
    ///
    /// As [`BufReader::read_line`].
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        Ok(Some(line))
    }

    /// The underlying reader.
    pub fn into_inner(self) -> BufReader<R> {
        self.reader
    }
}

impl<R: AsyncReadOwned> AsyncReadOwned for BufReader<R> {
    /// Copies buffered bytes into `buf`; with nothing buffered and a `buf` at least as large as
    /// the internal buffer, reads straight into `buf`.
    async fn read<B: IoBufMut>(&mut self, mut buf: B) -> BufResult<usize, B> {
        let want = buf.bytes_total();
        if want == 0 {
            return (Ok(0), buf);
        }
        if self.pos >= self.buf.len() && want >= self.capacity {
            return self.inner.read(buf).await;
        }
        let n = match self.fill_buf().await {
            Ok(avail) => {
                let n = avail.len().min(want);
                // SAFETY: `buf` has `want >= n` writable bytes at stable_mut_ptr, and
                // `avail` is our own Vec's memory, so the ranges do not overlap.
                unsafe { std::ptr::copy_nonoverlapping(avail.as_ptr(), buf.stable_mut_ptr(), n) };
                n
            }
            Err(e) => return (Err(e), buf),
        };
        // SAFETY: the first n bytes were just written, and n <= bytes_total.
        unsafe { buf.set_init(n) };
        self.consume(n);
        (Ok(n), buf)
    }
}

impl<R: AsyncWriteOwned> AsyncWriteOwned for BufReader<R> {
    fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        self.inner.write(buf)
    }
    fn writev<B: IoBuf>(&mut self, bufs: Vec<B>) -> impl Future<Output = BufResult<usize, Vec<B>>> {
        self.inner.writev(bufs)
    }
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
        self.inner.flush()
    }
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        self.inner.shutdown()
    }
    fn write_all<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<(), B>> {
        self.inner.write_all(buf)
    }
}
