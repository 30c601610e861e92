//! File I/O benchmark on one core's ring: IOPS, MiB/s and latency percentiles.
//!
//! ```text
//! cargo run --release --example fsbench -- --file PATH --size 1G --bs 4096 --qd 32 --secs 5 \
//!     --mode randread|randwrite|seqread|seqwrite [--direct] [--fixed] [--fsync-every N]
//! ```
//!
//! `--qd N` runs N tasks, each keeping one request in flight. The file is created (and filled
//! with random data) if it is missing or shorter than `--size`. Buffered read modes first read
//! the whole file once so that it sits in the page cache. `--direct` opens with `O_DIRECT`
//! and uses buffers aligned as the file requires; `--fixed` uses registered buffers
//! (`READ_FIXED` / `WRITE_FIXED`). `--fsync-every N` issues an `fdatasync` after every N writes.

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use hdrhistogram::Histogram;
use ringbolt::buf::{IoBuf, IoBufMut};
use ringbolt::fs::{AlignedBuf, BufResult, File, FixedBuf, FixedBufPool, OpenOptions};
use std::cell::{Cell, RefCell};
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What each request does (`--mode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Mode {
    /// Reads at random block offsets.
    #[value(name = "randread")]
    RandRead,
    /// Writes at random block offsets.
    #[value(name = "randwrite")]
    RandWrite,
    /// Reads blocks in order, wrapping at the end.
    #[value(name = "seqread")]
    SeqRead,
    /// Writes blocks in order, wrapping at the end.
    #[value(name = "seqwrite")]
    SeqWrite,
}

impl Mode {
    fn is_write(self) -> bool {
        matches!(self, Mode::RandWrite | Mode::SeqWrite)
    }
    fn is_random(self) -> bool {
        matches!(self, Mode::RandRead | Mode::RandWrite)
    }
}

/// File I/O benchmark on one core's ring: IOPS, MiB/s and latency percentiles.
#[derive(Parser)]
#[command(name = "fsbench")]
struct Args {
    /// The file (created and filled with random data if missing or shorter than --size).
    #[arg(long, value_name = "PATH")]
    file: PathBuf,
    /// Bytes of the file used: a number, or with a K, M or G suffix.
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    size: u64,
    /// Bytes per request (at most 64M).
    #[arg(long, default_value = "4096", value_parser = parse_bs)]
    bs: usize,
    /// Requests in flight: one task each (1 to 4096).
    #[arg(long, default_value_t = 32, value_parser = parse_qd)]
    qd: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// What each request does.
    #[arg(long, value_enum, default_value_t = Mode::RandRead)]
    mode: Mode,
    /// Open with `O_DIRECT` (buffers aligned as the file requires).
    #[arg(long)]
    direct: bool,
    /// Registered buffers (`READ_FIXED` / `WRITE_FIXED`).
    #[arg(long)]
    fixed: bool,
    /// An `fdatasync` after every N writes (0: never).
    #[arg(long, value_name = "N", default_value_t = 0)]
    fsync_every: u64,
}

/// `4096`, `64K`, `1M`, `1G`.
fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?}: need a size such as 4096, 64K or 1G"))
}

/// A request size: positive and at most 64 MiB.
fn parse_bs(s: &str) -> Result<usize, String> {
    match parse_size(s)? {
        b @ 1..=0x400_0000 => Ok(b as usize),
        _ => Err(format!("{s:?}: must be between 1 and 64M")),
    }
}

fn parse_qd(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(q @ 1..=4096) => Ok(q),
        _ => Err(format!("{s:?}: must be between 1 and 4096")),
    }
}

/// Exits with clap's usage error (status 2), as for a bad flag.
fn usage_error(msg: String) -> ! {
    Args::command()
        .error(ErrorKind::ValueValidation, msg)
        .exit()
}

/// Round-trip latencies of every request, in ns (1 ns to 60 s, 3 significant digits).
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// A buffer the benchmark can read into and write from.
trait BenchBuf: IoBufMut + Sized {
    async fn read(self, f: &File, pos: u64) -> BufResult<usize, Self>;
    async fn write(self, f: &File, pos: u64) -> BufResult<usize, Self>;
}

impl BenchBuf for Vec<u8> {
    async fn read(self, f: &File, pos: u64) -> BufResult<usize, Self> {
        f.read_at(self, pos).await
    }
    async fn write(self, f: &File, pos: u64) -> BufResult<usize, Self> {
        f.write_at(self, pos).await
    }
}

impl BenchBuf for AlignedBuf {
    async fn read(self, f: &File, pos: u64) -> BufResult<usize, Self> {
        f.read_at(self, pos).await
    }
    async fn write(self, f: &File, pos: u64) -> BufResult<usize, Self> {
        f.write_at(self, pos).await
    }
}

impl BenchBuf for FixedBuf {
    async fn read(self, f: &File, pos: u64) -> BufResult<usize, Self> {
        f.read_fixed_at(self, pos).await
    }
    async fn write(self, f: &File, pos: u64) -> BufResult<usize, Self> {
        f.write_fixed_at(self, pos).await
    }
}

/// State shared by the worker tasks of one run.
struct Shared {
    file: File,
    mode: Mode,
    blocks: u64,
    bs: usize,
    deadline: Instant,
    /// Next block for sequential modes.
    cursor: Cell<u64>,
    writes: Cell<u64>,
    fsync_every: u64,
    fsyncs: Cell<u64>,
    bytes: Cell<u64>,
    latencies: RefCell<Histogram<u64>>,
}

/// xorshift64*: cheap and good enough to pick blocks.
fn next_rand(s: &mut u64) -> u64 {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    s.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

async fn worker<B: BenchBuf>(sh: Rc<Shared>, mut buf: B, seed: u64) -> io::Result<()> {
    let mut rng = seed | 1;
    while Instant::now() < sh.deadline {
        let block = if sh.mode.is_random() {
            next_rand(&mut rng) % sh.blocks
        } else {
            let b = sh.cursor.get();
            sh.cursor.set((b + 1) % sh.blocks);
            b
        };
        let pos = block * sh.bs as u64;
        let t = Instant::now();
        let (res, b) = if sh.mode.is_write() {
            buf.write(&sh.file, pos).await
        } else {
            buf.read(&sh.file, pos).await
        };
        let ns = t.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        sh.latencies.borrow_mut().saturating_record(ns);
        buf = b;
        sh.bytes.set(sh.bytes.get() + res? as u64);
        if sh.mode.is_write() && sh.fsync_every > 0 {
            let w = sh.writes.get() + 1;
            sh.writes.set(w);
            if w % sh.fsync_every == 0 {
                sh.file.sync_data().await?;
                sh.fsyncs.set(sh.fsyncs.get() + 1);
            }
        }
    }
    Ok(())
}

/// Creates or extends the file to `size` bytes of random data, 16 MiB blocks 8 at a time.
async fn prepare(args: &Args) -> io::Result<()> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .open(&args.file)
        .await?;
    let have = f.metadata().await?.len();
    if have >= args.size {
        return f.close().await;
    }
    eprintln!(
        "fsbench: filling {} to {} bytes",
        args.file.display(),
        args.size
    );
    let f = Rc::new(f);
    const CHUNK: u64 = 16 << 20;
    let next = Rc::new(Cell::new(have / CHUNK * CHUNK));
    let size = args.size;
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let (f, next) = (f.clone(), next.clone());
            ringbolt::spawn(async move {
                let mut rng = 0x9e37_79b9_7f4a_7c15 ^ i;
                let mut buf = vec![0u8; CHUNK as usize];
                loop {
                    let pos = next.get();
                    if pos >= size {
                        return Ok::<(), io::Error>(());
                    }
                    next.set(pos + CHUNK);
                    for w in buf.chunks_mut(8) {
                        w.copy_from_slice(&next_rand(&mut rng).to_le_bytes());
                    }
                    let len = (size - pos).min(CHUNK) as usize;
                    let (res, b) = f.write_all_at(buf.slice(..len), pos).await;
                    res?;
                    buf = b.into_inner();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| io::Error::other(e.to_string()))??;
    }
    f.sync_all().await
}

/// Reads the file once so that buffered reads find it in the page cache.
async fn warm(file: &File, size: u64) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4 << 20);
    let mut pos = 0;
    while pos < size {
        buf.clear();
        let (res, b) = file.read_at(buf, pos).await;
        buf = b;
        match res? {
            0 => break,
            n => pos += n as u64,
        }
    }
    Ok(())
}

/// The latency at quantile `q`, in µs.
fn pct(hist: &Histogram<u64>, q: f64) -> f64 {
    hist.value_at_quantile(q) as f64 / 1000.0
}

async fn bench(args: Args) -> io::Result<()> {
    prepare(&args).await?;
    let file = OpenOptions::new()
        .read(true)
        .write(args.mode.is_write())
        .direct(args.direct)
        .open(&args.file)
        .await?;
    if let Some(a) = file.direct_alignment() {
        if args.bs % a.offset() != 0 {
            usage_error(format!(
                "--bs must be a multiple of {} with --direct",
                a.offset()
            ));
        }
    }
    if !args.direct && !args.mode.is_write() {
        let t = Instant::now();
        warm(&file, args.size).await?;
        eprintln!("fsbench: page cache warmed in {:.2?}", t.elapsed());
    }
    let sh = Rc::new(Shared {
        file,
        mode: args.mode,
        blocks: args.size / args.bs as u64,
        bs: args.bs,
        deadline: Instant::now() + Duration::from_secs(args.secs),
        cursor: Cell::new(0),
        writes: Cell::new(0),
        fsync_every: args.fsync_every,
        fsyncs: Cell::new(0),
        bytes: Cell::new(0),
        latencies: RefCell::new(new_histogram()),
    });
    let pool = if args.fixed {
        Some(FixedBufPool::new(args.qd, args.bs)?)
    } else {
        None
    };
    let stats0 = ringbolt::stats();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.qd);
    for i in 0..args.qd {
        let seed = 0x853c_49e6_748f_ea9b ^ (i as u64).wrapping_mul(0x9e37_79b9);
        let sh2 = sh.clone();
        let task = match &pool {
            Some(pool) => {
                let mut b = pool
                    .try_get()
                    .ok_or_else(|| io::Error::other("fixed buffer pool exhausted"))?;
                b.set_len(args.bs);
                ringbolt::spawn(worker(sh2, b, seed))
            }
            None if args.direct => {
                let mut b = sh.file.alloc_aligned(args.bs);
                b.set_len(args.bs);
                ringbolt::spawn(worker(sh2, b, seed))
            }
            None => ringbolt::spawn(worker(sh2, vec![0xa5u8; args.bs], seed)),
        };
        tasks.push(task);
    }
    for t in tasks {
        t.await.map_err(|e| io::Error::other(e.to_string()))??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stats = ringbolt::stats();
    let lat = sh.latencies.replace(new_histogram());
    let ops = lat.len() as f64;
    println!(
        "fsbench: {:?} bs={} qd={} size={} MiB direct={} fixed={} fsync_every={} secs={}",
        args.mode,
        args.bs,
        args.qd,
        args.size >> 20,
        args.direct,
        args.fixed,
        args.fsync_every,
        args.secs
    );
    println!(
        "  {:.0} IOPS  {:.1} MiB/s  latency p50 {:.1} us  p99 {:.1} us  p99.9 {:.1} us  ({} ops, {} fsyncs, {:.2} ops per io_uring_enter)",
        ops / elapsed,
        sh.bytes.get() as f64 / elapsed / (1u64 << 20) as f64,
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        pct(&lat, 0.999),
        lat.len(),
        sh.fsyncs.get(),
        (stats.ops_completed - stats0.ops_completed) as f64
            / (stats.enters - stats0.enters).max(1) as f64
    );
    drop(pool);
    Ok(())
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    if args.size < args.bs as u64 {
        usage_error("--size must be at least --bs".into());
    }
    let entries = (args.qd as u32 * 2).next_power_of_two().max(256);
    let rt = ringbolt::Runtime::builder().entries(entries).build()?;
    rt.block_on(bench(args))
}
