//! A sharded in-memory key-value server speaking enough RESP2 for `redis-cli` and
//! `redis-benchmark`: PING, GET, SET (EX/PX), DEL, EXISTS, INCR, MGET, MSET, FLUSHALL, DBSIZE,
//! COMMAND.
//!
//! Every core listens on the same address (`SO_REUSEPORT`) and owns the keys that hash to it;
//! a connection forwards the operations on other cores' keys over cross-core channels, one
//! batch per core per read, and answers pipelined commands in order.
//!
//! ```text
//! cargo run --release --example kv -- --addr 127.0.0.1:6380 --cores 2 [--duration SECS] [--drain SECS]
//! redis-cli -p 6380 set hello world
//! redis-benchmark -p 6380 -t set,get -n 200000 -c 50 -P 16
//! ```
//!
//! It serves until SIGTERM or Ctrl-C (or for `--duration SECS`), then stops gracefully: every
//! core stops accepting, each connection answers the commands its client had already sent and
//! closes, and after `--drain SECS` (default 10) whatever is left is aborted. It prints what
//! each core drained and aborted and the fds still open, and exits 0.

mod resp;
mod server;
mod store;

use clap::Parser;
use std::net::SocketAddr;
use std::time::Duration;

/// A sharded in-memory key-value server speaking enough RESP2 for `redis-cli`.
#[derive(Parser)]
#[command(name = "kv")]
struct Args {
    /// Address every core listens on.
    #[arg(long, default_value = "127.0.0.1:6380")]
    addr: SocketAddr,
    /// Cores (shards) [default: every CPU this process may run on].
    #[arg(long)]
    cores: Option<usize>,
    /// Stop after this many seconds [default: run until SIGTERM or Ctrl-C].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    duration: Option<Duration>,
    /// Seconds the connections get to finish after SIGTERM before the rest is aborted.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    drain: Duration,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    s.parse()
        .map(Duration::from_secs)
        .map_err(|e| format!("{s:?}: {e}"))
}

/// The number of fds this process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count().saturating_sub(1))
}

fn main() {
    let fds_at_start = open_fds();
    let args = Args::parse();
    let cores = args
        .cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = server::Options {
        stop_on_signals: true,
        drain: args.drain,
        ..server::Options::new(cores)
    };
    let server = match server::start_with(args.addr, opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kv: {e}");
            std::process::exit(1);
        }
    };
    println!("kv: listening on {} with {} cores", server.addr(), cores);
    if let Some(d) = args.duration {
        let shutdown = server.shutdown();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            shutdown.trigger();
        });
    }
    // Serves until SIGTERM, Ctrl-C or --duration.
    match server.join() {
        Ok(cores) => {
            for c in &cores {
                println!(
                    "kv: core {}: at shutdown {} tasks drained, {} aborted",
                    c.core, c.tasks_drained, c.tasks_aborted
                );
            }
            println!(
                "kv: stopped; open fds: {} ({fds_at_start} at start)",
                open_fds()
            );
        }
        Err(e) => {
            eprintln!("kv: {e}");
            std::process::exit(1);
        }
    }
}
