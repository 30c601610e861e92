//! ringbolt's hyper runtime pieces: `HyperTimer` sleeps on the core's timer wheel (never early,
//! gone from the wheel when dropped, safe to drop on another thread), and `HyperExecutor` runs
//! `!Send` futures on the current core.

#[path = "../../net/tests/common/mod.rs"]
mod common;

use common::watchdog;
use hyper::rt::{Executor, Timer};
use ringbolt::net::compat::{HyperExecutor, HyperTimer};
use ringbolt::Runtime;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[test]
fn timer_sleeps_on_the_wheel_and_never_early() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let start = Instant::now();
        HyperTimer.sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
        let deadline = Instant::now() + Duration::from_millis(10);
        HyperTimer.sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
        // A pending sleep sits in the wheel until dropped.
        let mut sleep = HyperTimer.sleep(Duration::from_secs(60));
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(sleep.as_mut().poll(cx)));
        assert!(polled.await.is_pending());
        assert_eq!(ringbolt::time::timers_pending(), 1);
        drop(sleep);
        assert_eq!(ringbolt::time::timers_pending(), 0);
    });
}

#[test]
fn sleep_dropped_on_another_thread_is_leaked_not_touched() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let mut sleep = HyperTimer.sleep(Duration::from_secs(60));
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(sleep.as_mut().poll(cx)));
        assert!(polled.await.is_pending());
        // hyper may hold it as Send + Sync; a foreign thread must neither poll nor drop it.
        std::thread::spawn(move || drop(sleep)).join().unwrap();
        // The entry stays in this core's wheel (leaked), and the runtime carries on.
        ringbolt::time::sleep(Duration::from_millis(1)).await;
    });
}

#[test]
fn executor_runs_non_send_futures_on_this_core() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let hits = Rc::new(std::cell::Cell::new(0));
        for _ in 0..10 {
            let hits = hits.clone();
            HyperExecutor.execute(async move {
                ringbolt::task::yield_now().await;
                hits.set(hits.get() + 1);
            });
        }
        let start = Instant::now();
        while hits.get() < 10 && start.elapsed() < Duration::from_secs(5) {
            ringbolt::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(hits.get(), 10);
    });
}
