//! Wakes from other threads: 8 threads × 12,500 wakes all land; waking after the runtime is
//! gone is a harmless no-op.
mod common;

use common::watchdog;
use ringbolt_runtime::{spawn, Runtime};
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

struct Shared {
    produced: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

#[test]
fn every_remote_wake_lands() {
    let _w = watchdog("every_remote_wake_lands", Duration::from_secs(60));
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 12_500;
    let rt = Runtime::new().unwrap();
    let shared = Arc::new(Shared {
        produced: AtomicU64::new(0),
        waker: Mutex::new(None),
    });
    let s = shared.clone();
    let (polls, seen) = rt.block_on(async move {
        let task = spawn(async move {
            let mut polls = 0u64;
            poll_fn(|cx| {
                polls += 1;
                // Register first, then check: a wake between the two is not lost.
                *s.waker.lock().unwrap() = Some(cx.waker().clone());
                let n = s.produced.load(Ordering::Acquire);
                if n == THREADS * PER_THREAD {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            (polls, s.produced.load(Ordering::Acquire))
        });
        // Let the task poll (and register its waker) once before any thread starts, so it
        // really waits on remote wakes (on a loaded machine the threads could otherwise finish
        // before its first poll).
        ringbolt_runtime::task::yield_now().await;
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = shared.clone();
                std::thread::spawn(move || {
                    for _ in 0..PER_THREAD {
                        s.produced.fetch_add(1, Ordering::AcqRel);
                        let w = s.waker.lock().unwrap().clone();
                        if let Some(w) = w {
                            w.wake();
                        }
                    }
                })
            })
            .collect();
        let out = task.await.unwrap();
        for t in threads {
            t.join().unwrap();
        }
        out
    });
    assert_eq!(seen, THREADS * PER_THREAD);
    assert!(polls >= 2);
    println!("{polls} polls for {} wakes", THREADS * PER_THREAD);
}

#[test]
fn wake_after_runtime_drop_is_harmless() {
    let rt = Runtime::new().unwrap();
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let s = slot.clone();
    rt.block_on(async move {
        spawn(poll_fn(move |cx| {
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        }));
        ringbolt_runtime::task::yield_now().await;
        ringbolt_runtime::task::yield_now().await;
    });
    let waker = slot
        .lock()
        .unwrap()
        .take()
        .expect("task registered a waker");
    drop(rt);
    let w2 = waker.clone();
    std::thread::spawn(move || {
        w2.wake_by_ref();
        w2.wake();
    })
    .join()
    .unwrap();
    waker.wake();
}
