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

use clap::Parser;
use hdrhistogram::Histogram;
use ringbolt::net::TcpStream;
use ringbolt_runtime::buf::IoBuf;
use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Load generator for the echo example: ping-pong, verify every byte, report rt/s and latency.
#[derive(Parser)]
#[command(name = "echo_client")]
struct Args {
    /// The echo server's address.
    #[arg(long, default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
    /// Connections (0 counts as 1).
    #[arg(long, default_value_t = 16)]
    conns: usize,
    /// Bytes per message (0 counts as 1).
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    size: usize,
    /// Seconds to run.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    secs: f64,
    /// Client cores the connections are spread over (0 counts as 1).
    #[arg(long, default_value_t = 1)]
    cores: usize,
    /// CPUs the client cores are pinned to, comma-separated [default: 0..cores].
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    cpus: Option<Vec<usize>>,
}

/// Round-trip latencies in ns, one histogram per client core (its connections share it).
type Latencies = Rc<RefCell<Histogram<u64>>>;

/// The largest latency recorded as itself (60 s); longer ones count as this.
const LATENCY_MAX_NS: u64 = 60_000_000_000;

/// What one connection measured.
#[derive(Default)]
struct ConnResult {
    round_trips: u64,
    mismatches: u64,
    error: Option<String>,
}

/// Ping-pong on one connection until `deadline`; every round's message differs.
async fn run_conn(
    addr: SocketAddr,
    id: usize,
    size: usize,
    deadline: Instant,
    latencies: Latencies,
) -> ConnResult {
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
        let ns = start.elapsed().as_nanos().min(u128::from(LATENCY_MAX_NS)) as u64;
        latencies.borrow_mut().saturating_record(ns);
        if rbuf != msg {
            out.mismatches += 1;
        }
        out.round_trips += 1;
        round += 1;
    }
    let _ = stream.close().await;
    out
}

/// The latency at quantile `q` (0 when nothing was recorded).
fn percentile(hist: &Histogram<u64>, q: f64) -> Duration {
    Duration::from_nanos(hist.value_at_quantile(q))
}

/// An empty latency histogram: 1 ns to [`LATENCY_MAX_NS`], 3 significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("valid histogram bounds")
}

fn main() -> io::Result<()> {
    let mut args = Args::parse();
    args.conns = args.conns.max(1);
    args.size = args.size.max(1);
    args.cores = args.cores.max(1);
    let mut builder = ringbolt_runtime::Runtime::builder().cores(args.cores);
    if let Some(cpus) = &args.cpus {
        builder = builder.cpus(cpus.clone());
    }
    let args = &args;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.secs);
    let per_core = builder.launch(|core| async move {
        // Connection i runs on core i % cores.
        let latencies: Latencies = Rc::new(RefCell::new(new_histogram()));
        let handles: Vec<_> = (core..args.conns)
            .step_by(args.cores)
            .map(|id| {
                let conn = run_conn(args.addr, id, args.size, deadline, latencies.clone());
                ringbolt_runtime::spawn(conn)
            })
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
        let latencies = latencies.borrow().clone();
        (results, latencies)
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = 0u64;
    let mut mismatches = 0u64;
    let mut errors = Vec::new();
    let mut lat = new_histogram();
    for (results, core_lat) in per_core {
        for r in results {
            total += r.round_trips;
            mismatches += r.mismatches;
            errors.extend(r.error);
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = lat.add(&core_lat);
    }
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
