//! [`copy`]: a file copy with many reads and writes in flight.

use crate::blocking::unblock;
use crate::file::File;
use crate::open_options::OpenOptions;
use ringbolt_runtime::buf::IoBuf;
use std::future::{poll_fn, Future};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::Poll;

/// Bytes per block.
const BLOCK: usize = 1 << 20;
/// Blocks in flight at once (each a read then a write at the same offset).
const DEPTH: usize = 8;

type BlockFuture<'a> = Pin<Box<dyn Future<Output = io::Result<(u64, Vec<u8>)>> + 'a>>;

/// Copies the contents of `from` to `to`, creating or truncating `to`, and gives `to` the
/// permission bits of `from`. Returns the number of bytes copied.
///
/// The copy runs as up to 8 independent 1 MiB blocks in flight at once (each a read and then
/// a write at the same offset), so the kernel always has work queued; after the length seen
/// at the start, it goes on reading until end of file (files that grew, or report length 0
/// like those in `/proc`). Dropping the future cancels the blocks in flight; `to` is then left
/// partly written.
///
/// If the umask dropped permission bits at creation, they are restored with one
/// `set_permissions` on the blocking helper (io_uring has no `fchmod`).
///
/// # Errors
///
/// `InvalidInput` if `from` is not a regular file, or if `to` is the same file as `from`
/// (the same path, a hard link or a symlink to it; `std::fs::copy` empties the file then, this
/// leaves it untouched); otherwise what opening, reading or writing reports.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    let src = File::open(from).await?;
    let meta = src.metadata().await?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("copy source {} is not a regular file", from.display()),
        ));
    }
    let perm = meta.mode() & 0o7777;
    // Not truncated at open: `to` may be `from` itself (the same path, a hard link, a symlink),
    // and truncating it would destroy the source before a byte is copied.
    let dst = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(perm)
        .open(to)
        .await?;
    let dst_meta = dst.metadata().await?;
    if (dst_meta.dev(), dst_meta.ino()) == (meta.dev(), meta.ino()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "copy source {} and destination {} are the same file; nothing was changed",
                from.display(),
                to.display()
            ),
        ));
    }
    if dst_meta.is_file() {
        dst.set_len(0).await?;
    }
    let len = meta.len();
    let mut total = copy_blocks(&src, &dst, len).await?;
    total += copy_tail(&src, &dst, len).await?;
    if dst_meta.mode() & 0o7777 != perm {
        let to = to.to_path_buf();
        let perms = meta.permissions();
        unblock(move || std::fs::set_permissions(to, perms)).await?;
    }
    src.close().await?;
    dst.close().await?;
    Ok(total)
}

/// Copies `[0, len)` with up to [`DEPTH`] blocks in flight; returns the bytes copied.
async fn copy_blocks(src: &File, dst: &File, len: u64) -> io::Result<u64> {
    let mut in_flight: Vec<BlockFuture<'_>> = Vec::with_capacity(DEPTH);
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut next = 0u64;
    let mut total = 0u64;
    loop {
        while in_flight.len() < DEPTH && next < len {
            let want = (len - next).min(BLOCK as u64) as usize;
            let buf = spare.pop().unwrap_or_else(|| Vec::with_capacity(BLOCK));
            in_flight.push(Box::pin(copy_block(src, dst, buf, next, want)));
            next += want as u64;
        }
        if in_flight.is_empty() {
            return Ok(total);
        }
        let done = poll_fn(|cx| {
            let mut done = Vec::new();
            let mut i = 0;
            while i < in_flight.len() {
                match in_flight[i].as_mut().poll(cx) {
                    Poll::Ready(r) => {
                        done.push(r);
                        drop(in_flight.swap_remove(i));
                    }
                    Poll::Pending => i += 1,
                }
            }
            if done.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(done)
            }
        })
        .await;
        for r in done {
            let (n, buf) = r?;
            total += n;
            spare.push(buf);
        }
    }
}

/// Reads up to `want` bytes at `pos` (fewer only at end of file) and writes them at `pos`.
async fn copy_block(
    src: &File,
    dst: &File,
    mut buf: Vec<u8>,
    pos: u64,
    want: usize,
) -> io::Result<(u64, Vec<u8>)> {
    buf.clear();
    while buf.len() < want {
        let filled = buf.len();
        let (res, slice) = src
            .read_at(buf.slice(filled..want), pos + filled as u64)
            .await;
        buf = slice.into_inner();
        match res {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let n = buf.len() as u64;
    let (res, buf) = dst.write_all_at(buf, pos).await;
    res.map(|()| (n, buf))
}

/// Copies whatever lies past `start`, one block at a time, until end of file.
async fn copy_tail(src: &File, dst: &File, start: u64) -> io::Result<u64> {
    let mut pos = start;
    let mut buf = Vec::with_capacity(BLOCK);
    loop {
        let (n, b) = copy_block(src, dst, buf, pos, BLOCK).await?;
        buf = b;
        if n == 0 {
            return Ok(pos - start);
        }
        pos += n;
    }
}
