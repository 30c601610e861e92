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

use std::net::SocketAddr;
use std::time::Duration;

struct Args {
    addr: SocketAddr,
    cores: usize,
    duration: Option<Duration>,
    drain: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 6380)),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        duration: None,
        drain: Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => args.addr = value.parse().map_err(|e| format!("--addr {value}: {e}"))?,
            "--cores" => args.cores = value.parse().map_err(|e| format!("--cores {value}: {e}"))?,
            "--duration" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|e| format!("--duration {value}: {e}"))?;
                args.duration = Some(Duration::from_secs(secs));
            }
            "--drain" => {
                let secs: u64 = value.parse().map_err(|e| format!("--drain {value}: {e}"))?;
                args.drain = Duration::from_secs(secs);
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(args)
}

/// The number of fds this process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count().saturating_sub(1))
}

fn main() {
    let fds_at_start = open_fds();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "kv: {e}\nusage: kv [--addr IP:PORT] [--cores N] [--duration SECS] [--drain SECS]"
            );
            std::process::exit(2);
        }
    };
    let opts = server::Options {
        stop_on_signals: true,
        drain: args.drain,
        ..server::Options::new(args.cores)
    };
    let server = match server::start_with(args.addr, opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kv: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "kv: listening on {} with {} cores",
        server.addr(),
        args.cores
    );
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
