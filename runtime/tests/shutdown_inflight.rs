//! Dropping a runtime with 10,000 long ops in flight cancels and reaps them quickly.
mod common;

use common::watchdog;
use ringbolt_runtime::ops::Timeout;
use ringbolt_runtime::{spawn, stats, task::yield_now, Runtime};
use std::time::{Duration, Instant};

#[test]
fn shutdown_with_10k_inflight_ops_is_fast() {
    let _w = watchdog(
        "shutdown_with_10k_inflight_ops_is_fast",
        Duration::from_secs(30),
    );
    let rt = Runtime::builder().entries(1024).build().unwrap();
    rt.block_on(async {
        for _ in 0..10_000 {
            spawn(async { Timeout::op(Duration::from_secs(3600)).await });
        }
        while stats().ops_in_flight < 10_000 {
            yield_now().await;
        }
    });
    let t = Instant::now();
    drop(rt);
    let took = t.elapsed();
    println!("shutdown took {took:?}");
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
}
