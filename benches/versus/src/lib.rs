//! ringbolt-versus: the head-to-head benchmark runner behind `cargo bench --bench versus`.
//!
//! It runs an echo benchmark (TCP ping-pong on loopback), an HTTP benchmark (the same hyper
//! service on ringbolt and on tokio, keep-alive `GET`s) and a file benchmark against several
//! contenders — ringbolt, tokio set up the ways its users set it up, monoio (the io_uring
//! thread-per-core runtime users would otherwise pick) on its io_uring driver, raw io_uring and
//! epoll loops with no runtime, and fio — and prints a comparison table, writing `results.json`,
//! `results.csv` and `chart.svg` under `target/versus/`. The method (pinning, interleaving,
//! medians, the cache-line probe) is described in `docs/benchmarks.md`.
//!
//! Process layout: each echo server and each file contender runs in a child process started by
//! re-executing this binary with a hidden subcommand, pinned to the server cores, so its CPU
//! time can be read from `/proc/<pid>/stat` over exactly the measured window. The load
//! generator (raw epoll, neither tokio nor ringbolt) runs in the parent, pinned to the other
//! cores.

pub mod affinity;
pub mod args;
pub mod child;
pub mod cpu;
pub mod echo;
pub mod file;
pub mod http;
pub mod loadgen;
pub mod probe;
pub mod report;
pub mod results;
pub mod runner;
pub mod servers;
pub mod stats;
pub mod units;

use args::Command;

/// Runs the command line of this process and exits with its status.
pub fn main() {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        // Prints the usage (exit 0) or the error with the usage (exit 2).
        Err(e) => e.exit(),
    };
    let code = match command {
        Command::Serve(serve) => match servers::serve(&serve) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("versus --serve {}: {e}", serve.contender);
                1
            }
        },
        Command::FileWorker {
            contender,
            spec_json,
        } => file::worker::main(&contender, &spec_json),
        Command::Run(run) => runner::run(*run),
    };
    std::process::exit(code);
}
