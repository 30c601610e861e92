//! An op submitted on one runtime and then polled inside another runtime on the same thread
//! must not hand its buffer back while the first ring still has the read in flight.
//!
//! `Driver::poll_op` answers a key it does not know with `Ready(lost_slot())`, and `Op::poll`
//! then calls `complete`, which frees the boxed state and returns the buffer to the caller. The
//! kernel of the first ring still holds a pointer into that buffer and writes into it later.
mod common;

use common::{pipe, watchdog};
use ringbolt_runtime::ops::{Nop, Read};
use ringbolt_runtime::Runtime;
use std::future::{poll_fn, Future};
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

#[test]
fn op_polled_on_foreign_runtime_keeps_kernel_away_from_returned_buffer() {
    let _wd = watchdog("review_foreign_runtime_op", Duration::from_secs(30));
    let rt_a = Runtime::new().unwrap();
    let rt_b = Runtime::new().unwrap();
    let (rd, wr) = pipe();

    // Submit a read of an empty pipe on ring A and leave it in flight.
    let mut op = Read::op(&rd, vec![0u8; 64], u64::MAX);
    rt_a.block_on(poll_fn(|cx| {
        assert!(Pin::new(&mut op).poll(cx).is_pending());
        Poll::Ready(())
    }));
    // Let ring A really submit it.
    rt_a.block_on(Nop::op()).unwrap();
    assert_eq!(rt_a.stats().ops_in_flight, 1);

    // Poll the same op inside runtime B. Acceptable outcomes: a panic (the op is leaked, ring A
    // keeps valid memory), or staying pending. Not acceptable: the buffer comes back to us
    // while ring A can still write into it.
    let polled = catch_unwind(AssertUnwindSafe(|| {
        rt_b.block_on(poll_fn(|cx| match Pin::new(&mut op).poll(cx) {
            Poll::Ready(out) => Poll::Ready(Some(out)),
            Poll::Pending => Poll::Ready(None),
        }))
    }));
    let Ok(Some((res, buf))) = polled else {
        // Fixed behaviour: the foreign poll refused to complete the op.
        std::mem::forget(op);
        return;
    };
    std::mem::forget(op);
    let err = res.expect_err("the pipe is empty: the read cannot have succeeded");

    // The buffer is ours now. Feed the pipe and let ring A run: its kernel read still points
    // into `buf`.
    std::fs::File::from(wr)
        .write_all(b"written after the buffer came back")
        .unwrap();
    for _ in 0..10 {
        rt_a.block_on(Nop::op()).unwrap();
        if rt_a.stats().ops_in_flight == 0 {
            break;
        }
    }
    assert!(
        buf.iter().all(|&b| b == 0),
        "ring A wrote {:?} into a buffer that runtime B returned to the caller ({err}) while \
         the read was still in flight: the kernel wrote into memory the op no longer owns",
        String::from_utf8_lossy(&buf[..34])
    );
}
