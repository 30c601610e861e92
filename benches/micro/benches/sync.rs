//! Local sync primitives, ringbolt next to tokio's equivalent on a `current_thread` runtime, in
//! one group per operation so the report puts them side by side.
//!
//! - `mpsc_send_recv`: one `send().await` + one `recv().await` on a bounded channel (cap 1024);
//!   `mpsc_unbounded_send_recv` the same on an unbounded channel.
//! - `mpsc_task_to_task`: a spawned producer streams 10,000 messages through a channel of
//!   capacity 64 to the consumer, so back-pressure and wake-ups are in the loop; per message.
//! - `semaphore_acquire_release`: `acquire().await` then drop the permit.
//! - `mutex_lock_unlock`: `lock().await` then drop the guard.
//! - `mutex_contended_4_tasks`: four tasks each take the lock 2,500 times, yielding while holding
//!   it; per lock.
//!
//! Run: `cargo bench -p ringbolt-benches --bench sync` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use ringbolt_runtime::sync as rb;

const STREAM: u64 = 10_000;

fn ringbolt_rt() -> ringbolt_runtime::Runtime {
    ringbolt_runtime::Runtime::new().expect("ringbolt runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g
}

fn mpsc_send_recv(c: &mut Criterion) {
    let mut g = group(c, "mpsc_send_recv");
    let rt = ringbolt_rt();
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let (tx, mut rx) = rb::mpsc::channel(1024);
                let start = Instant::now();
                for i in 0..iters {
                    tx.send(i).await.expect("receiver alive");
                    black_box(rx.recv().await);
                }
                start.elapsed()
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
                let start = Instant::now();
                for i in 0..iters {
                    tx.send(i).await.expect("receiver alive");
                    black_box(rx.recv().await);
                }
                start.elapsed()
            })
        })
    });
    g.finish();

    let mut g = group(c, "mpsc_unbounded_send_recv");
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let (tx, mut rx) = rb::mpsc::unbounded_channel();
                let start = Instant::now();
                for i in 0..iters {
                    tx.send(i).expect("receiver alive");
                    black_box(rx.recv().await);
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let start = Instant::now();
                for i in 0..iters {
                    tx.send(i).expect("receiver alive");
                    black_box(rx.recv().await);
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn mpsc_task_to_task(c: &mut Criterion) {
    let mut g = group(c, "mpsc_task_to_task");
    let rt = ringbolt_rt();
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters.div_ceil(STREAM) {
                    let (tx, mut rx) = rb::mpsc::channel(64);
                    ringbolt_runtime::spawn(async move {
                        for i in 0..STREAM {
                            tx.send(i).await.expect("receiver alive");
                        }
                    });
                    while let Some(v) = rx.recv().await {
                        black_box(v);
                    }
                }
                scale(start.elapsed(), iters, STREAM)
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters.div_ceil(STREAM) {
                    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
                    tokio::spawn(async move {
                        for i in 0..STREAM {
                            tx.send(i).await.expect("receiver alive");
                        }
                    });
                    while let Some(v) = rx.recv().await {
                        black_box(v);
                    }
                }
                scale(start.elapsed(), iters, STREAM)
            })
        })
    });
    g.finish();
}

fn semaphore_acquire_release(c: &mut Criterion) {
    let mut g = group(c, "semaphore_acquire_release");
    let rt = ringbolt_rt();
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let sem = rb::Semaphore::new(8);
                let start = Instant::now();
                for _ in 0..iters {
                    drop(black_box(sem.acquire().await.expect("not closed")));
                }
                start.elapsed()
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let sem = tokio::sync::Semaphore::new(8);
                let start = Instant::now();
                for _ in 0..iters {
                    drop(black_box(sem.acquire().await.expect("not closed")));
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn mutex_lock_unlock(c: &mut Criterion) {
    let mut g = group(c, "mutex_lock_unlock");
    let rt = ringbolt_rt();
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mutex = rb::Mutex::new(0u64);
                let start = Instant::now();
                for _ in 0..iters {
                    *mutex.lock().await += 1;
                }
                black_box(mutex.into_inner());
                start.elapsed()
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let mutex = tokio::sync::Mutex::new(0u64);
                let start = Instant::now();
                for _ in 0..iters {
                    *mutex.lock().await += 1;
                }
                black_box(mutex.into_inner());
                start.elapsed()
            })
        })
    });
    g.finish();

    const TASKS: u64 = 4;
    const LOCKS: u64 = 2_500;
    let mut g = group(c, "mutex_contended_4_tasks");
    g.bench_function("ringbolt", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters.div_ceil(TASKS * LOCKS) {
                    let mutex = Rc::new(rb::Mutex::new(0u64));
                    let handles: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let mutex = Rc::clone(&mutex);
                            ringbolt_runtime::spawn(async move {
                                for _ in 0..LOCKS {
                                    let mut guard = mutex.lock().await;
                                    ringbolt_runtime::task::yield_now().await;
                                    *guard += 1;
                                }
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("task completes");
                    }
                }
                scale(start.elapsed(), iters, TASKS * LOCKS)
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            trt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters.div_ceil(TASKS * LOCKS) {
                    let mutex = Arc::new(tokio::sync::Mutex::new(0u64));
                    let handles: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let mutex = Arc::clone(&mutex);
                            tokio::spawn(async move {
                                for _ in 0..LOCKS {
                                    let mut guard = mutex.lock().await;
                                    tokio::task::yield_now().await;
                                    *guard += 1;
                                }
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("task completes");
                    }
                }
                scale(start.elapsed(), iters, TASKS * LOCKS)
            })
        })
    });
    g.finish();
}

/// Scales the time for `ceil(iters / batch)` batches down to `iters` operations.
fn scale(elapsed: Duration, iters: u64, batch: u64) -> Duration {
    let ops = iters.div_ceil(batch) * batch;
    elapsed.mul_f64(iters as f64 / ops as f64)
}

criterion_group!(
    benches,
    mpsc_send_recv,
    mpsc_task_to_task,
    semaphore_acquire_release,
    mutex_lock_unlock
);
criterion_main!(benches);
