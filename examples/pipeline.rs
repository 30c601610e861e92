//! A three-stage pipeline across cores, connected by bounded cross-core channels:
//! a producer (core 0) generates numbers, a transformer (core 1) hashes them, a sink (core 0)
//! checks and sums them. Back-pressure keeps the fast stages from running ahead; a batch of
//! messages costs the receiving core at most one wake. Prints the throughput.
//!
//! ```text
//! cargo run --release --example pipeline -- [--items 5000000] [--batch 1] [--capacity 1024] [--cores 2]
//! ```
//!
//! `--batch B` sends `B` numbers per message: fewer, larger messages.

use clap::Parser;
use ringbolt::sync::cross;
use std::io;
use std::sync::Mutex;
use std::time::Instant;

/// A three-stage pipeline across cores over bounded cross-core channels.
#[derive(Parser)]
#[command(name = "pipeline")]
struct Args {
    /// Numbers to push through.
    #[arg(long, value_name = "N", default_value_t = 5_000_000)]
    items: u64,
    /// Numbers per message (0 counts as 1).
    #[arg(long, value_name = "B", default_value_t = 1)]
    batch: usize,
    /// Messages each channel holds (0 counts as 1).
    #[arg(long, value_name = "C", default_value_t = 1024)]
    capacity: usize,
    /// Cores (0 counts as 1).
    #[arg(long, value_name = "N", default_value_t = 2)]
    cores: usize,
}

/// The transformer's work: a cheap integer hash (splitmix64's finaliser).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The two channels, each half waiting for the core that runs its stage.
struct Wiring {
    to_transform: Mutex<Option<cross::Sender<Vec<u64>>>>,
    from_produce: Mutex<Option<cross::Receiver<Vec<u64>>>>,
    to_sink: Mutex<Option<cross::Sender<Vec<u64>>>>,
    from_transform: Mutex<Option<cross::Receiver<Vec<u64>>>>,
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().ok().and_then(|mut g| g.take())
}

fn main() {
    let mut args = Args::parse();
    args.batch = args.batch.max(1);
    args.capacity = args.capacity.max(1);
    args.cores = args.cores.max(1);
    if let Err(e) = run(&args) {
        eprintln!("pipeline: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> io::Result<()> {
    let (tx1, rx1) = cross::channel(args.capacity);
    let (tx2, rx2) = cross::channel(args.capacity);
    let wiring = Wiring {
        to_transform: Mutex::new(Some(tx1)),
        from_produce: Mutex::new(Some(rx1)),
        to_sink: Mutex::new(Some(tx2)),
        from_transform: Mutex::new(Some(rx2)),
    };
    // Stage i runs on core i % cores: producer and sink share core 0, the transformer has
    // core 1 to itself (with two or more cores).
    let stage_core = |stage: usize| stage % args.cores.min(2);
    let (items, batch) = (args.items, args.batch);
    let start = Instant::now();
    let sums = ringbolt::Runtime::builder()
        .cores(args.cores.min(2))
        .launch(|core| {
            let producer = (stage_core(0) == core)
                .then(|| take(&wiring.to_transform))
                .flatten();
            let transformer = (stage_core(1) == core)
                .then(|| Some((take(&wiring.from_produce)?, take(&wiring.to_sink)?)))
                .flatten();
            let sink = (stage_core(2) == core)
                .then(|| take(&wiring.from_transform))
                .flatten();
            async move {
                let p = producer.map(|tx| ringbolt::spawn(produce(tx, items, batch)));
                let t = transformer.map(|(rx, tx)| ringbolt::spawn(transform(rx, tx)));
                let s = sink.map(|rx| ringbolt::spawn(consume(rx)));
                let mut sum = None;
                if let Some(p) = p {
                    p.await.map_err(io::Error::from)?;
                }
                if let Some(t) = t {
                    t.await.map_err(io::Error::from)?;
                }
                if let Some(s) = s {
                    sum = Some(s.await.map_err(io::Error::from)?);
                }
                Ok::<_, io::Error>(sum)
            }
        })?;
    let elapsed = start.elapsed();
    let mut got = None;
    for s in sums {
        if let Some(s) = s? {
            got = Some(s);
        }
    }
    let (count, sum) = got.ok_or_else(|| io::Error::other("no sink ran"))?;
    let expected = (0..items).fold(0u64, |acc, i| acc.wrapping_add(mix(i)));
    if count != items || sum != expected {
        return Err(io::Error::other(format!(
            "sink saw {count} items summing to {sum:#x}, expected {items} summing to {expected:#x}"
        )));
    }
    let rate = items as f64 / elapsed.as_secs_f64();
    println!(
        "pipeline: {items} items through 3 stages on {} cores in {elapsed:.2?}: {:.2} M items/s, {:.2} M messages/s per channel (batch {batch}, capacity {})",
        args.cores.min(2),
        rate / 1e6,
        rate / batch as f64 / 1e6,
        args.capacity,
    );
    Ok(())
}

async fn produce(tx: cross::Sender<Vec<u64>>, items: u64, batch: usize) {
    let mut next = 0;
    while next < items {
        let end = (next + batch as u64).min(items);
        if tx.send((next..end).collect()).await.is_err() {
            return;
        }
        next = end;
    }
}

async fn transform(mut rx: cross::Receiver<Vec<u64>>, tx: cross::Sender<Vec<u64>>) {
    while let Some(mut chunk) = rx.recv().await {
        for x in &mut chunk {
            *x = mix(*x);
        }
        if tx.send(chunk).await.is_err() {
            return;
        }
    }
}

async fn consume(mut rx: cross::Receiver<Vec<u64>>) -> (u64, u64) {
    let (mut count, mut sum) = (0u64, 0u64);
    while let Some(chunk) = rx.recv().await {
        count += chunk.len() as u64;
        sum = chunk.iter().fold(sum, |acc, &x| acc.wrapping_add(x));
    }
    (count, sum)
}
