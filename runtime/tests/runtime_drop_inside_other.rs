//! Dropping a runtime while another runtime runs on the same thread must shut the dropped one
//! down properly and leave the running one alone.
//!
//! `Runtime::drop` starts with `context::enter`, which panics when another core is current.
//! The unwind then drops the `Core` without `Driver::shutdown`, and the dropped runtime's task
//! futures are dropped with the *other* core current: their `Op::drop` hands keys of ring 2 to
//! ring 1's driver. Slab keys are not tagged with their driver, so ring 2's first op (slot 0,
//! generation 1) takes over ring 1's first op's slot: ring 1's op is cancelled and its future
//! gets "op polled on a runtime that does not own it".
mod common;

use common::watchdog;
use ringbolt_runtime::ops::Timeout;
use ringbolt_runtime::task::yield_now;
use ringbolt_runtime::Runtime;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

#[test]
fn dropping_a_runtime_inside_another_leaves_both_sound() {
    let _wd = watchdog("review_drop_runtime_inside_other", Duration::from_secs(30));
    let rt1 = Runtime::new().unwrap();
    let rt2 = Runtime::new().unwrap();
    // A task on rt2 waits on its ring's first op.
    rt2.block_on(async {
        ringbolt_runtime::spawn(async {
            let _ = Timeout::op(Duration::from_secs(60)).await;
        });
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(rt2.stats().ops_in_flight, 1);

    let (drop_result, own_op) = rt1.block_on(async move {
        // rt1's first op, in flight.
        let mut op = Timeout::op(Duration::from_millis(50));
        poll_fn(|cx| {
            assert!(Pin::new(&mut op).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(rt2)));
        (dropped.map_err(|_| ()), op.await)
    });
    assert!(
        drop_result.is_ok() && own_op.is_ok(),
        "dropping rt2 inside rt1.block_on panicked: {}; rt1's own 50 ms timeout returned {:?}",
        drop_result.is_err(),
        own_op
    );
}
