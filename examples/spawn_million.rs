//! Spawns 1,000,000 tasks across all cores (one runtime per pinned core) and prints tasks/s.
//!
//! `cargo run --release --example spawn_million -- [--tasks N] [--cores C]`

use clap::Parser;
use std::time::Instant;

/// Spawns tasks across all cores and prints tasks/s.
#[derive(Parser)]
#[command(name = "spawn_million")]
struct Args {
    /// Tasks in all, split evenly over the cores.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    tasks: usize,
    /// Cores, one pinned runtime each [default: every CPU this process may run on].
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u16).range(1..))]
    cores: Option<u16>,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let tasks = args.tasks;
    let cores = args.cores.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let per_core = tasks / cores;
    let start = Instant::now();
    let per_core_secs = ringbolt::Runtime::builder()
        .cores(cores)
        .launch(|_core| async move {
            let t = Instant::now();
            let mut handles = Vec::with_capacity(1024);
            let mut sum = 0usize;
            for i in 0..per_core {
                handles.push(ringbolt::spawn(async move { i & 1 }));
                if handles.len() == 1024 {
                    for h in handles.drain(..) {
                        sum += h.await.unwrap_or(0);
                    }
                }
            }
            for h in handles.drain(..) {
                sum += h.await.unwrap_or(0);
            }
            std::hint::black_box(sum);
            t.elapsed().as_secs_f64()
        })?;
    let wall = start.elapsed().as_secs_f64();
    let total = per_core * cores;
    for (core, secs) in per_core_secs.iter().enumerate() {
        println!(
            "core {core}: {per_core} tasks in {:.3} s = {:.1} M tasks/s",
            secs,
            per_core as f64 / secs / 1e6
        );
    }
    println!(
        "total: {total} tasks on {cores} cores in {wall:.3} s = {:.1} M tasks/s (spawn + run + join)",
        total as f64 / wall / 1e6
    );
    Ok(())
}
