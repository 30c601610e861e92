//! Copies a file with a configurable number of blocks in flight and prints the throughput.
//!
//! ```text
//! cargo run --release --example cp -- SRC DST [--in-flight 16] [--bs 1M] [--sync]
//! ```
//!
//! Each of the `--in-flight` tasks takes the next block offset, reads the block and writes it
//! at the same offset in `DST`; all of them share one ring on one core.

use ringbolt::buf::IoBuf;
use ringbolt::fs::{File, OpenOptions};
use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Instant;

struct Args {
    src: String,
    dst: String,
    in_flight: usize,
    bs: usize,
    sync: bool,
}

fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

fn usage(msg: &str) -> ! {
    eprintln!("cp: {msg}\nusage: cp SRC DST [--in-flight N] [--bs SIZE] [--sync]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let mut pos = Vec::new();
    let (mut in_flight, mut bs, mut sync) = (16usize, 1usize << 20, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--in-flight" => {
                in_flight = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage("--in-flight needs a positive number"));
            }
            "--bs" => {
                bs = args
                    .next()
                    .and_then(|v| parse_size(&v))
                    .filter(|&n| n > 0 && n <= 1 << 30)
                    .unwrap_or_else(|| usage("--bs needs a size such as 1M"))
                    as usize;
            }
            "--sync" => sync = true,
            _ if a.starts_with("--") => usage(&format!("unknown option {a}")),
            _ => pos.push(a),
        }
    }
    let [src, dst] = <[String; 2]>::try_from(pos).unwrap_or_else(|_| usage("need SRC and DST"));
    Args {
        src,
        dst,
        in_flight,
        bs,
        sync,
    }
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
    let args = parse_args();
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
