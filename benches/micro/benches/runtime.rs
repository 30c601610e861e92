//! Runtime micro-benchmarks, ringbolt next to tokio's `current_thread` runtime in each group:
//! spawn + join, yield round trip, an I/O round trip, and timers.
//!
//! Run: `cargo bench -p ringbolt-benches --bench runtime` (add `-- --quick` for a short run).

use criterion::{criterion_group, criterion_main, Criterion};
use ringbolt::runtime as rb;
use std::future::Future;
use std::hint::black_box;
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    let rt = rb::Runtime::new().expect("ringbolt runtime");
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(rb::spawn(async move { i }).await.ok());
                }
                t.elapsed()
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(tokio::spawn(async move { i }).await.ok());
                }
                t.elapsed()
            })
        })
    });
    // Batch: spawn 1000, then join them all (the "gather" shape).
    g.bench_function("ringbolt_batch1000", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let hs: Vec<_> = (0..1000).map(|i| rb::spawn(async move { i })).collect();
                    for h in hs {
                        black_box(h.await.ok());
                    }
                }
                t.elapsed() / 1000
            })
        })
    });
    g.bench_function("tokio_batch1000", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let hs: Vec<_> = (0..1000).map(|i| tokio::spawn(async move { i })).collect();
                    for h in hs {
                        black_box(h.await.ok());
                    }
                }
                t.elapsed() / 1000
            })
        })
    });
    g.finish();
}

fn yield_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield_now");
    let rt = rb::Runtime::new().expect("ringbolt runtime");
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                rb::spawn(async move {
                    let t = Instant::now();
                    for _ in 0..iters {
                        rb::task::yield_now().await;
                    }
                    t.elapsed()
                })
                .await
                .expect("task")
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                tokio::spawn(async move {
                    let t = Instant::now();
                    for _ in 0..iters {
                        tokio::task::yield_now().await;
                    }
                    t.elapsed()
                })
                .await
                .expect("task")
            })
        })
    });
    g.finish();
}

/// A pipe with `O_CLOEXEC` and `extra` flags (`O_NONBLOCK` or nothing).
fn pipe_with(extra: i32) -> (OwnedFd, OwnedFd) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the array with two new fds on success (checked).
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | extra) };
    assert_eq!(r, 0, "pipe2 failed");
    // SAFETY: both fds are fresh and owned here.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn io_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("io_round_trip");
    let rt = rb::Runtime::new().expect("ringbolt runtime");
    g.bench_function("ringbolt_nop", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    rb::ops::Nop::op().await.expect("nop");
                }
                t.elapsed()
            })
        })
    });
    // The same NOP round trip on a bare ring: what the kernel allows.
    let mut ring = io_uring::IoUring::new(64).expect("ring");
    g.bench_function("raw_io_uring_nop", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for i in 0..iters {
                let e = io_uring::opcode::Nop::new().build().user_data(i);
                // SAFETY: a NOP carries no pointers.
                unsafe { ring.submission().push(&e).expect("sq") };
                ring.submit_and_wait(1).expect("enter");
                black_box(ring.completion().next());
            }
            t.elapsed()
        })
    });
    // tokio's nearest equivalent of an op: the blocking-pool hop every tokio::fs call makes.
    let trt = tokio_rt();
    g.bench_function("tokio_blocking_hop", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(tokio::task::spawn_blocking(move || i).await.ok());
                }
                t.elapsed()
            })
        })
    });
    // A pipe write then read of 64 bytes: a real fd round trip. On a non-blocking pipe, as
    // tokio's (which requires one), the inline attempts are plain `write`/`read`; on a
    // blocking one they are `pwritev2`/`preadv2` with RWF_NOWAIT, the only calls that cannot
    // block there, at about 110 ns more per call on this machine (rule 7 in `ops::nowait`).
    for (name, flags) in [
        ("ringbolt_pipe64", libc::O_NONBLOCK),
        ("ringbolt_pipe64_blocking", 0),
    ] {
        let (r, w) = pipe_with(flags);
        let (r, w) = (rb::SharedFd::new(r), rb::SharedFd::new(w));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut buf = vec![7u8; 64];
                    let mut rbuf = Vec::with_capacity(64);
                    let t = Instant::now();
                    for _ in 0..iters {
                        let (res, b2) = rb::ops::Write::op(&w, buf, u64::MAX).await;
                        res.expect("write");
                        buf = b2;
                        rbuf.clear();
                        let (res, b3) = rb::ops::Read::op(&r, rbuf, u64::MAX).await;
                        res.expect("read");
                        rbuf = b3;
                    }
                    t.elapsed()
                })
            })
        });
    }
    g.bench_function("tokio_pipe64", |b| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        b.iter_custom(|iters| {
            trt.block_on(async {
                let (mut tx, mut rx) = tokio::net::unix::pipe::pipe().expect("pipe");
                let buf = [7u8; 64];
                let mut rbuf = [0u8; 64];
                let t = Instant::now();
                for _ in 0..iters {
                    tx.write_all(&buf).await.expect("write");
                    rx.read_exact(&mut rbuf).await.expect("read");
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers");
    let rt = rb::Runtime::new().expect("ringbolt runtime");
    let trt = tokio_rt();
    g.bench_function("ringbolt_sleep0", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    rb::time::sleep(Duration::ZERO).await;
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("tokio_sleep0", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    tokio::time::sleep(Duration::ZERO).await;
                }
                t.elapsed()
            })
        })
    });
    // Insert a 1 s timer into the wheel (first poll) and cancel it (drop).
    g.bench_function("ringbolt_insert_cancel", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut cx = Context::from_waker(Waker::noop());
                let t = Instant::now();
                for _ in 0..iters {
                    let mut s = pin!(rb::time::sleep(Duration::from_secs(1)));
                    black_box(s.as_mut().poll(&mut cx).is_pending());
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("tokio_insert_cancel", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let mut cx = Context::from_waker(Waker::noop());
                let t = Instant::now();
                for _ in 0..iters {
                    let mut s = pin!(tokio::time::sleep(Duration::from_secs(1)));
                    black_box(s.as_mut().poll(&mut cx).is_pending());
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

/// The cost of observability: spawn + join and a `Nop` round trip with stall detection off,
/// with the default stall detection (one TSC read per poll), and with metrics on as well.
fn observability(c: &mut Criterion) {
    let variants = [
        ("stall_off", rb::Runtime::builder().stall_threshold(None)),
        ("default", rb::Runtime::builder()),
        ("metrics", rb::Runtime::builder().metrics(true)),
    ];
    interleaved_observability(&variants);
    let mut g = c.benchmark_group("observability");
    for (name, builder) in variants {
        let rt = builder.build().expect("ringbolt runtime");
        g.bench_function(format!("spawn_join/{name}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for i in 0..iters {
                        black_box(rb::spawn(async move { i }).await.ok());
                    }
                    t.elapsed()
                })
            })
        });
        g.bench_function(format!("nop/{name}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        rb::ops::Nop::op().await.expect("nop");
                    }
                    t.elapsed()
                })
            })
        });
    }
    g.finish();
}

/// The same three variants measured in turns (40 rounds, each variant once per round), the
/// best round of each: on a loaded machine, load drifts between criterion's back-to-back
/// groups by more than the differences measured here, while interleaving cancels it.
fn interleaved_observability(variants: &[(&str, rb::Builder)]) {
    let rts: Vec<_> = variants
        .iter()
        .map(|(n, b)| (*n, b.build().expect("ringbolt runtime")))
        .collect();
    let mut best = vec![(f64::MAX, f64::MAX); rts.len()];
    for _round in 0..40 {
        for ((_, rt), best) in rts.iter().zip(best.iter_mut()) {
            let (sj, nop) = rt.block_on(async {
                let t = Instant::now();
                for i in 0..20_000u64 {
                    black_box(rb::spawn(async move { i }).await.ok());
                }
                let sj = t.elapsed().as_nanos() as f64 / 20_000.0;
                let t = Instant::now();
                for _ in 0..5_000 {
                    rb::ops::Nop::op().await.expect("nop");
                }
                (sj, t.elapsed().as_nanos() as f64 / 5_000.0)
            });
            best.0 = best.0.min(sj);
            best.1 = best.1.min(nop);
        }
    }
    println!("observability, interleaved (best of 40 rounds):");
    for ((name, _), (sj, nop)) in rts.iter().zip(&best) {
        println!(
            "  {name:10} spawn+join {sj:7.1} ns ({:+.1}%)   nop round trip {nop:7.1} ns ({:+.1}%)",
            (sj / best[0].0 - 1.0) * 100.0,
            (nop / best[0].1 - 1.0) * 100.0
        );
    }
}

criterion_group!(
    benches,
    spawn_join,
    yield_round_trip,
    io_round_trip,
    timers,
    observability
);
criterion_main!(benches);
