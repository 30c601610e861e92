//! A ring of 2 SQ / 4 CQ entries carries 10,000 concurrent ops: SQ-full and CQ-overflow paths.
mod common;

use common::watchdog;
use ringbolt_runtime::ops::{Nop, Timeout};
use ringbolt_runtime::{spawn, stats, Runtime};
use std::time::Duration;

#[test]
fn ten_thousand_ops_on_a_tiny_ring() {
    let _w = watchdog("ten_thousand_ops_on_a_tiny_ring", Duration::from_secs(60));
    let rt = Runtime::builder().entries(2).cq_entries(4).build().unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..10_000u64)
            .map(|i| {
                spawn(async move {
                    if i % 2 == 0 {
                        Nop::op().await
                    } else {
                        Timeout::op(Duration::from_micros(100 + i % 1000)).await
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap().unwrap();
        }
        let s = stats();
        println!("{s:?}");
        assert_eq!(s.ops_completed, 10_000);
        assert_eq!(s.ops_in_flight, 0);
        assert_eq!(s.stale_cqes, 0);
    });
}
