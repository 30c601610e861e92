//! Copies a file with a configurable number of blocks in flight and prints the throughput.
//!
//! ```text
//! cargo run --release --example cp -- SRC DST [--in-flight 16] [--bs 1M] [--sync]
//! ```
//!
//! Each of the `--in-flight` tasks takes the next block offset, reads the block and writes it
//! at the same offset in `DST`; all of them share one ring on one core.

use clap::Parser;
use ringbolt::buf::IoBuf;
use ringbolt::fs::{File, OpenOptions};
use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Instant;

/// Copies SRC to DST with a number of blocks in flight on one core.
#[derive(Parser)]
#[command(name = "cp")]
struct Args {
    /// File to copy.
    src: String,
    /// Where to copy it (created or truncated).
    dst: String,
    /// Blocks in flight (tasks on the one core).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    in_flight: u64,
    /// Block size: a number of bytes, or with a K, M or G suffix (at most 1G).
    #[arg(long, default_value = "1M", value_parser = parse_bs)]
    bs: usize,
    /// `fsync` DST before reporting.
    #[arg(long)]
    sync: bool,
}

/// `4096`, `64K`, `1M`, `1G`: a positive size of at most 1 GiB.
fn parse_bs(s: &str) -> Result<usize, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0 && n <= 1 << 30)
        .map(|n| n as usize)
        .ok_or_else(|| format!("{s:?}: need a size such as 1M"))
}

/// Copies blocks until the shared cursor passes `len`; returns the bytes this task copied.
async fn worker(
    src: Rc<File>,
    dst: Rc<File>,
    next: Rc<Cell<u64>>,
    len: u64,
    bs: usize,
) -> io::Result<u64> {
    let mut buf = Vec::with_capacity(bs);
    let mut copied = 0;
    loop {
        let pos = next.get();
        if pos >= len {
            return Ok(copied);
        }
        next.set(pos + bs as u64);
        let want = (len - pos).min(bs as u64) as usize;
        buf.clear();
        while buf.len() < want {
            let filled = buf.len();
            let (res, slice) = src
                .read_at(buf.slice(filled..want), pos + filled as u64)
                .await;
            buf = slice.into_inner();
            if res? == 0 {
                break;
            }
        }
        copied += buf.len() as u64;
        let (res, b) = dst.write_all_at(buf, pos).await;
        res?;
        buf = b;
    }
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let rt = ringbolt::Runtime::new()?;
    rt.block_on(async {
        let start = Instant::now();
        let src = Rc::new(File::open(&args.src).await?);
        let len = src.metadata().await?.len();
        let dst = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&args.dst)
            .await?;
        let dst = Rc::new(dst);
        let next = Rc::new(Cell::new(0u64));
        let workers: Vec<_> = (0..args.in_flight)
            .map(|_| ringbolt::spawn(worker(src.clone(), dst.clone(), next.clone(), len, args.bs)))
            .collect();
        let mut total = 0;
        for w in workers {
            total += w.await.map_err(|e| io::Error::other(e.to_string()))??;
        }
        if args.sync {
            dst.sync_all().await?;
        }
        let secs = start.elapsed().as_secs_f64();
        let mib = total as f64 / (1u64 << 20) as f64;
        println!(
            "copied {mib:.1} MiB in {secs:.3} s: {:.1} MiB/s ({} blocks of {} KiB in flight{})",
            mib / secs,
            args.in_flight,
            args.bs >> 10,
            if args.sync { ", synced" } else { "" }
        );
        Ok(())
    })
}
