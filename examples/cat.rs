//! Streams files to stdout, everything on the ring: file reads and stdout writes are io_uring
//! ops, and the next block is read while the current one is written.
//!
//! ```text
//! cargo run --release --example cat -- FILE...
//! ```

use clap::Parser;
use ringbolt::buf::IoBuf;
use ringbolt::fs::File;
use ringbolt::runtime::ops::Write;
use ringbolt::runtime::SharedFd;
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::AsFd;
use std::pin::pin;
use std::task::Poll;

const BLOCK: usize = 256 << 10;

/// Writes all of `buf` to a stream (pipe, tty, or a file at its current position).
async fn write_all(out: &SharedFd, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
    let total = buf.len();
    let mut done = 0;
    while done < total {
        // u64::MAX: the fd's current position, which is what streams need.
        let (res, slice) = Write::op(out, buf.slice(done..total), u64::MAX).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// Polls two futures together until both are done.
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                ra = x;
                rb = y;
                Poll::Pending
            }
        }
    })
    .await
}

async fn cat(path: &str, out: &SharedFd) -> io::Result<()> {
    let file = File::open(path).await?;
    let mut pos = 0u64;
    let (res, mut current) = file.read_at(Vec::with_capacity(BLOCK), pos).await;
    let mut n = res?;
    let mut spare = Vec::with_capacity(BLOCK);
    while n > 0 {
        pos += n as u64;
        spare.clear();
        // Read the next block while writing this one.
        let ((res, next), written) = join(file.read_at(spare, pos), write_all(out, current)).await;
        spare = written?;
        n = res?;
        current = next;
    }
    file.close().await
}

fn main() {
    if let Err(e) = run() {
        eprintln!("cat: {e}");
        std::process::exit(1);
    }
}

/// Writes files to standard output through the ring.
#[derive(Parser)]
#[command(name = "cat")]
struct Args {
    /// Files to print, in order.
    #[arg(value_name = "FILE", required = true)]
    paths: Vec<String>,
}

fn run() -> io::Result<()> {
    let Args { paths } = Args::parse();
    let out = SharedFd::new(io::stdout().as_fd().try_clone_to_owned()?);
    let rt = ringbolt::Runtime::new()?;
    rt.block_on(async {
        for path in &paths {
            match cat(path, &out).await {
                Ok(()) => {}
                // The reader went away (`cat big | head`): stop quietly.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(io::Error::new(e.kind(), format!("{path}: {e}"))),
            }
        }
        Ok(())
    })
}
