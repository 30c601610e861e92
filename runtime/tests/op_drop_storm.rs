//! 100,000 ops dropped at random points of their life; the in-flight count returns to 0 and
//! no stale CQE ever reaches a reused slot.
mod common;

use common::{watchdog, Rng};
use ringbolt_runtime::ops::{Nop, Timeout};
use ringbolt_runtime::{stats, task::yield_now, Runtime};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

#[test]
fn drop_storm_100k() {
    let _w = watchdog("drop_storm_100k", Duration::from_secs(60));
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut cx = Context::from_waker(Waker::noop());
        let mut parked: Vec<Pin<Box<dyn Future<Output = std::io::Result<()>>>>> = Vec::new();
        let (mut before_poll, mut after_poll, mut after_completion) = (0u32, 0u32, 0u32);
        for i in 0..100_000u32 {
            let mut op: Pin<Box<dyn Future<Output = std::io::Result<()>>>> = if rng.below(2) == 0 {
                Box::pin(Nop::op())
            } else {
                Box::pin(Timeout::op(Duration::from_micros(rng.below(2000))))
            };
            match rng.below(3) {
                0 => before_poll += 1,
                1 => {
                    assert!(op.as_mut().poll(&mut cx).is_pending());
                    after_poll += 1;
                }
                _ => {
                    // Poll once, then keep it until its CQE has (probably) arrived.
                    assert!(op.as_mut().poll(&mut cx).is_pending());
                    parked.push(op);
                    after_completion += 1;
                    continue;
                }
            }
            drop(op);
            if i % 64 == 0 {
                yield_now().await;
                // Drop parked ops after a turn: most have completed but were never re-polled.
                parked.clear();
            }
        }
        parked.clear();
        let deadline = Instant::now() + Duration::from_secs(20);
        while stats().ops_in_flight > 0 && Instant::now() < deadline {
            yield_now().await;
        }
        let s = stats();
        println!("{before_poll} before poll, {after_poll} after poll, {after_completion} after completion; {s:?}");
        assert!(before_poll > 20_000 && after_poll > 20_000 && after_completion > 20_000);
        assert_eq!(s.ops_in_flight, 0);
        assert_eq!(s.stale_cqes, 0);
        assert_eq!(s.ops_submitted, u64::from(after_poll + after_completion));
        assert_eq!(s.ops_completed, s.ops_submitted);
    });
}
