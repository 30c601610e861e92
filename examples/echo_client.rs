//! Load generator for the echo example: N connections ping-pong messages of S bytes for D
//! seconds, verify every echoed byte, and report round trips per second and p50/p99 latency.
//!
//! ```text
//! cargo run --release --example echo_client -- --addr 127.0.0.1:7878 --conns 64 --size 1024 \
//!     --secs 5 [--cores 1] [--cpus 1]
//! ```
//!
//! Connections are spread over `--cores` client cores (default 1), pinned to `--cpus`
//! (comma-separated; default CPUs 0..cores). Exits with status 1 if any echoed byte differed
//! or a connection failed.

use ringbolt::net::TcpStream;
use ringbolt_runtime::buf::IoBuf;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

struct Args {
    addr: SocketAddr,
    conns: usize,
    size: usize,
    secs: f64,
    cores: usize,
    cpus: Option<Vec<usize>>,
}

fn usage() -> ! {
    eprintln!(
        "usage: echo_client [--addr IP:PORT] [--conns N] [--size BYTES] [--secs S] [--cores N] [--cpus A,B,..]"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 7878)),
        conns: 16,
        size: 64,
        secs: 5.0,
        cores: 1,
        cpus: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let num = |v: &str| v.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--addr" => args.addr = value.parse().unwrap_or_else(|_| usage()),
            "--conns" => args.conns = num(&value).max(1),
            "--size" => args.size = num(&value).max(1),
            "--secs" => args.secs = value.parse().unwrap_or_else(|_| usage()),
            "--cores" => args.cores = num(&value).max(1),
            "--cpus" => args.cpus = Some(value.split(',').map(num).collect()),
            _ => usage(),
        }
    }
    args
}

/// What one connection measured.
#[derive(Default)]
struct ConnResult {
    round_trips: u64,
    mismatches: u64,
    error: Option<String>,
    latencies_ns: Vec<u32>,
}

/// Ping-pong on one connection until `deadline`; every round's message differs.
async fn run_conn(addr: SocketAddr, id: usize, size: usize, deadline: Instant) -> ConnResult {
    let mut out = ConnResult::default();
    let stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("connect: {e}"));
            return out;
        }
    };
    if let Err(e) = stream.set_nodelay(true) {
        out.error = Some(format!("nodelay: {e}"));
        return out;
    }
    // A per-connection pattern; each round stamps its number at both ends, so a stale or
    // misrouted echo is caught by the full comparison below.
    let mut msg: Vec<u8> = (0..size).map(|i| (id.wrapping_mul(31) + i) as u8).collect();
    let mut rbuf: Vec<u8> = Vec::with_capacity(size);
    let mut round = 0u64;
    while Instant::now() < deadline {
        let stamp = ((id as u64) << 40 | round).to_le_bytes();
        let k = stamp.len().min(size);
        msg[..k].copy_from_slice(&stamp[..k]);
        msg[size - k..].copy_from_slice(&stamp[..k]);
        let start = Instant::now();
        let (res, m) = stream.write_all(msg).await;
        msg = m;
        if let Err(e) = res {
            out.error = Some(format!("write: {e}"));
            break;
        }
        rbuf.clear();
        let (res, r) = stream.read_exact(rbuf.slice(..size)).await;
        rbuf = r.into_inner();
        if let Err(e) = res {
            out.error = Some(format!("read: {e}"));
            break;
        }
        out.latencies_ns
            .push(start.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32);
        if rbuf != msg {
            out.mismatches += 1;
        }
        out.round_trips += 1;
        round += 1;
    }
    let _ = stream.close().await;
    out
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    Duration::from_nanos(u64::from(sorted[i]))
}

fn main() -> io::Result<()> {
    let args = parse_args();
    let mut builder = ringbolt_runtime::Runtime::builder().cores(args.cores);
    if let Some(cpus) = &args.cpus {
        builder = builder.cpus(cpus.clone());
    }
    let args = &args;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.secs);
    let per_core = builder.launch(|core| async move {
        // Connection i runs on core i % cores.
        let handles: Vec<_> = (core..args.conns)
            .step_by(args.cores)
            .map(|id| ringbolt_runtime::spawn(run_conn(args.addr, id, args.size, deadline)))
            .collect();
        let mut results = Vec::new();
        for h in handles {
            match h.await {
                Ok(r) => results.push(r),
                Err(e) => results.push(ConnResult {
                    error: Some(format!("task: {e}")),
                    ..ConnResult::default()
                }),
            }
        }
        results
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = 0u64;
    let mut mismatches = 0u64;
    let mut errors = Vec::new();
    let mut lat = Vec::new();
    for r in per_core.into_iter().flatten() {
        total += r.round_trips;
        mismatches += r.mismatches;
        errors.extend(r.error);
        lat.extend_from_slice(&r.latencies_ns);
    }
    lat.sort_unstable();
    println!(
        "conns={} size={} secs={:.1} round_trips={} rt/s={:.0} p50={:?} p99={:?} mismatches={} errors={}",
        args.conns,
        args.size,
        elapsed,
        total,
        total as f64 / elapsed,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        mismatches,
        errors.len(),
    );
    for e in errors.iter().take(5) {
        eprintln!("echo_client: {e}");
    }
    if mismatches > 0 || !errors.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
