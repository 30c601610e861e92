//! [`copy`] and [`copy_bidirectional`] over the owned-buffer traits.

use super::{AsyncReadOwned, AsyncWriteOwned};
use std::io;

/// The buffer size [`copy`] uses: 64 KiB, one socket receive buffer's worth per op.
pub const COPY_BUF_SIZE: usize = 64 * 1024;

/// Copies everything `reader` yields into `writer` until end of stream, and returns the number
/// of bytes copied. One buffer of [`COPY_BUF_SIZE`] bytes goes back and forth; nothing is
/// flushed or shut down at the end.
///
/// # Errors
///
/// The first read or write error; the bytes copied before it are lost to the count.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::io::{copy, AsyncReadOwned, AsyncWriteOwned};
///
/// async fn forward<R, W>(mut from: R, mut to: W) -> std::io::Result<u64>
/// where
///     R: AsyncReadOwned,
///     W: AsyncWriteOwned,
/// {
///     copy(&mut from, &mut to).await
/// }
/// ```
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncReadOwned + ?Sized,
    W: AsyncWriteOwned + ?Sized,
{
    let mut buf = Vec::with_capacity(COPY_BUF_SIZE);
    let mut total = 0u64;
    loop {
        let (res, b) = reader.read(buf).await;
        buf = b;
        match res {
            Ok(0) => return Ok(total),
            Ok(n) => {
                // The read left exactly n bytes in the buffer (buf rule 3).
                let (res, b) = writer.write_all(buf).await;
                buf = b;
                res?;
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A stream that splits into a read half and a write half usable at the same time (by two
/// futures of one task, or two tasks on its core).
///
/// Implemented by `TcpStream` and `UnixStream`; [`copy_bidirectional`] uses it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be split into owned read and write halves",
    note = "`copy_bidirectional` takes the streams by value (it splits them): pass `stream`, not `&mut stream`; implemented by `TcpStream` and `UnixStream`"
)]
pub trait SplitOwned {
    /// The read half.
    type Read: AsyncReadOwned;
    /// The write half.
    type Write: AsyncWriteOwned;
    /// Splits the stream.
    fn split_owned(self) -> (Self::Read, Self::Write);
}

/// Copies `a → b` and `b → a` at the same time until both directions have ended, with
/// half-close: when `a` reaches end of stream, `b`'s write side is shut down (its peer reads
/// end of stream) while `b → a` goes on, and the other way round. Returns the bytes copied
/// `(a → b, b → a)`.
///
/// This is what a TCP proxy runs per connection. Both streams are consumed; they close when
/// both directions are done.
///
/// # Errors
///
/// The first error of either direction (a read, a write or a shutdown); the other direction
/// is cancelled.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::io::{copy_bidirectional, SplitOwned};
///
/// async fn proxy<A: SplitOwned, B: SplitOwned>(client: A, upstream: B) -> std::io::Result<()> {
///     let (up, down) = copy_bidirectional(client, upstream).await?;
///     println!("{up} bytes up, {down} bytes down");
///     Ok(())
/// }
/// ```
pub async fn copy_bidirectional<A, B>(a: A, b: B) -> io::Result<(u64, u64)>
where
    A: SplitOwned,
    B: SplitOwned,
{
    let (mut a_read, mut a_write) = a.split_owned();
    let (mut b_read, mut b_write) = b.split_owned();
    let a_to_b = one_way(&mut a_read, &mut b_write);
    let b_to_a = one_way(&mut b_read, &mut a_write);
    try_join!(a_to_b, b_to_a)
}

/// Copies until end of stream, then shuts the writer's write side down.
async fn one_way<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncReadOwned,
    W: AsyncWriteOwned,
{
    let n = copy(reader, writer).await?;
    writer.flush().await?;
    writer.shutdown().await?;
    Ok(n)
}
