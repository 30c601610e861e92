//! A sharded in-memory key-value server speaking enough RESP2 for `redis-cli` and
//! `redis-benchmark`: PING, GET, SET (EX/PX), DEL, EXISTS, INCR, MGET, MSET, FLUSHALL, DBSIZE,
//! COMMAND.
//!
//! Every core listens on the same address (`SO_REUSEPORT`) and owns the keys that hash to it;
//! a connection forwards the operations on other cores' keys over cross-core channels, one
//! batch per core per read, and answers pipelined commands in order.
//!
//! ```text
//! cargo run --release --example kv -- --addr 127.0.0.1:6380 --cores 2 [--duration SECS]
//! redis-cli -p 6380 set hello world
//! redis-benchmark -p 6380 -t set,get -n 200000 -c 50 -P 16
//! ```

mod resp;
mod server;
mod store;

use std::net::SocketAddr;
use std::time::Duration;

struct Args {
    addr: SocketAddr,
    cores: usize,
    duration: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 6380)),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        duration: None,
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
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kv: {e}\nusage: kv [--addr IP:PORT] [--cores N] [--duration SECS]");
            std::process::exit(2);
        }
    };
    let mut server = match server::start(args.addr, args.cores) {
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
        std::thread::sleep(d);
        server.request_stop();
    }
    if let Err(e) = server.join() {
        eprintln!("kv: {e}");
        std::process::exit(1);
    }
}
