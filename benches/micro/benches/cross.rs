//! Cross-core messaging: ping-pong latency (one round trip per iteration) and one-way
//! throughput (one message per iteration) between two pinned cores, for ringbolt's
//! `sync::cross` channels with each wake path (MSG_RING, eventfd) and for `tokio::sync::mpsc`
//! between two `current_thread` runtimes on two pinned threads.
//!
//! Each sample starts both sides, shakes hands once, then times `iters` operations on the
//! sending side; setup is outside the timed part.
//!
//! Run: `cargo bench -p ringbolt-benches --bench cross` (add `-- --quick` for a short run).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringbolt::runtime::CrossWake;
use ringbolt::sync::cross;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CAPACITY: usize = 1024;

type Ends = (cross::Sender<u64>, cross::Receiver<u64>);
type Side = Pin<Box<dyn Future<Output = Duration>>>;

/// Runs `side(core, ends)` on two pinned ringbolt cores joined by a pair of channels, and
/// returns what core 0 measured.
fn ringbolt_two_cores(wake: CrossWake, side: impl Fn(usize, Ends) -> Side + Sync) -> Duration {
    let (to_1, from_0) = cross::channel::<u64>(CAPACITY);
    let (to_0, from_1) = cross::channel::<u64>(CAPACITY);
    let ends = [
        Mutex::new(Some((to_1, from_1))),
        Mutex::new(Some((to_0, from_0))),
    ];
    let out = ringbolt::Runtime::builder()
        .cores(2)
        .cross_wake(wake)
        .launch(|core| {
            let mine = ends[core].lock().expect("lock").take();
            let fut = mine.map(|e| side(core, e));
            async move {
                match fut {
                    Some(f) => f.await,
                    None => Duration::ZERO,
                }
            }
        })
        .expect("launch two cores");
    out[0]
}

fn ringbolt_ping_pong(wake: CrossWake, iters: u64) -> Duration {
    ringbolt_two_cores(wake, move |core, (tx, mut rx)| {
        Box::pin(async move {
            if core == 1 {
                while let Some(v) = rx.recv().await {
                    if tx.send(v).await.is_err() {
                        break;
                    }
                }
                return Duration::ZERO;
            }
            tx.send(0).await.expect("peer alive");
            rx.recv().await.expect("handshake");
            let start = Instant::now();
            for i in 0..iters {
                tx.send(i).await.expect("peer alive");
                rx.recv().await.expect("pong");
            }
            start.elapsed()
        })
    })
}

fn ringbolt_one_way(wake: CrossWake, iters: u64) -> Duration {
    ringbolt_two_cores(wake, move |core, (tx, mut rx)| {
        Box::pin(async move {
            if core == 1 {
                tx.send(0).await.expect("handshake");
                let mut n = 0;
                while rx.recv().await.is_some() {
                    n += 1;
                }
                tx.send(n).await.expect("done");
                return Duration::ZERO;
            }
            rx.recv().await.expect("handshake");
            let start = Instant::now();
            for i in 0..iters {
                tx.send(i).await.expect("peer alive");
            }
            drop(tx);
            let n = rx.recv().await.expect("done");
            assert_eq!(n, iters, "every message arrived");
            start.elapsed()
        })
    })
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn pin(cpu: usize) {
    // Best effort: an unpinned run is still a valid, if noisier, sample.
    // SAFETY: CPU_ZERO/CPU_SET write into a local cpu_set_t; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn tokio_ping_pong(iters: u64) -> Duration {
    let (to_b, mut from_a) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let (to_a, mut from_b) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let b = std::thread::spawn(move || {
        pin(1);
        tokio_rt().block_on(async move {
            while let Some(v) = from_a.recv().await {
                if to_a.send(v).await.is_err() {
                    break;
                }
            }
        })
    });
    pin(0);
    let elapsed = tokio_rt().block_on(async move {
        to_b.send(0).await.expect("peer alive");
        from_b.recv().await.expect("handshake");
        let start = Instant::now();
        for i in 0..iters {
            to_b.send(i).await.expect("peer alive");
            from_b.recv().await.expect("pong");
        }
        start.elapsed()
    });
    b.join().expect("tokio peer");
    elapsed
}

fn tokio_one_way(iters: u64) -> Duration {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let b = std::thread::spawn(move || {
        pin(1);
        tokio_rt().block_on(async move {
            ack_tx.send(0).await.expect("handshake");
            let mut n = 0;
            while rx.recv().await.is_some() {
                n += 1;
            }
            ack_tx.send(n).await.expect("done");
        })
    });
    pin(0);
    let elapsed = tokio_rt().block_on(async move {
        ack_rx.recv().await.expect("handshake");
        let start = Instant::now();
        for i in 0..iters {
            tx.send(i).await.expect("peer alive");
        }
        drop(tx);
        let n = ack_rx.recv().await.expect("done");
        assert_eq!(n, iters);
        start.elapsed()
    });
    b.join().expect("tokio peer");
    elapsed
}

fn bench(c: &mut Criterion) {
    let wakes = [
        ("msg_ring", CrossWake::MsgRing),
        ("eventfd", CrossWake::Eventfd),
    ];

    let mut g = c.benchmark_group("cross/ping_pong");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for (name, wake) in wakes {
        g.bench_function(BenchmarkId::new("ringbolt", name), |b| {
            b.iter_custom(|iters| ringbolt_ping_pong(wake, iters))
        });
    }
    g.bench_function(BenchmarkId::new("tokio_mpsc", "current_thread"), |b| {
        b.iter_custom(tokio_ping_pong)
    });
    g.finish();

    let mut g = c.benchmark_group("cross/one_way");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for (name, wake) in wakes {
        g.bench_function(BenchmarkId::new("ringbolt", name), |b| {
            b.iter_custom(|iters| ringbolt_one_way(wake, iters))
        });
    }
    g.bench_function(BenchmarkId::new("tokio_mpsc", "current_thread"), |b| {
        b.iter_custom(tokio_one_way)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
