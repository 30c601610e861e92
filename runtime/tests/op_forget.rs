//! `mem::forget` of in-flight op futures leaks their state but never corrupts: the runtime keeps
//! working and its drop terminates.
mod common;

use common::{pipe, watchdog};
use ringbolt_runtime::ops::{Nop, Read, Timeout};
use ringbolt_runtime::{stats, task::yield_now, Runtime};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

#[test]
fn forget_1000_inflight_ops() {
    let _w = watchdog("forget_1000_inflight_ops", Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    let (rd, _wr) = pipe();
    rt.block_on(async {
        let mut cx = Context::from_waker(Waker::noop());
        for i in 0..1000 {
            if i % 2 == 0 {
                let mut op = Box::pin(Timeout::op(Duration::from_millis(1 + i % 20)));
                assert!(op.as_mut().poll(&mut cx).is_pending());
                std::mem::forget(op);
            } else {
                // Reads on an empty pipe stay in flight until shutdown cancels them.
                let mut op = Box::pin(Read::op(&rd, vec![0u8; 128], u64::MAX));
                assert!(Pin::new(&mut op).poll(&mut cx).is_pending());
                std::mem::forget(op);
            }
        }
        yield_now().await;
        // The runtime still works.
        for _ in 0..100 {
            Nop::op().await.unwrap();
        }
        ringbolt_runtime::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            stats().ops_in_flight,
            500,
            "the forgotten pipe reads are still in flight"
        );
    });
    drop(rt); // must terminate: cancels the reads and reaps them
}
