//! Spawns 1,000,000 tasks across all cores (one runtime per pinned core) and prints tasks/s.
//!
//! `cargo run --release --example spawn_million -- [--tasks N] [--cores C]`

use std::time::Instant;

fn main() -> std::io::Result<()> {
    let mut tasks: usize = 1_000_000;
    let mut cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().and_then(|v| v.parse().ok());
        match (a.as_str(), v) {
            ("--tasks", Some(v)) => tasks = v,
            ("--cores", Some(v)) => cores = v,
            _ => {
                eprintln!("usage: spawn_million [--tasks N] [--cores C]");
                std::process::exit(2);
            }
        }
    }
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
