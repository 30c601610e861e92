//! A buffer left in a dropped in-flight op is released after the op's CQE — not leaked, not
//! freed early — and after the runtime drops.
mod common;

use common::{pipe, ArcBuf};
use ringbolt_runtime::ops::Read;
use ringbolt_runtime::{stats, task::yield_now, Runtime};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

#[test]
fn dropped_inflight_read_keeps_buffer_until_cqe() {
    let rt = Runtime::new().unwrap();
    let token = Arc::new(());
    let (rd, _wr) = pipe();
    rt.block_on(async {
        {
            let buf = ArcBuf {
                token: token.clone(),
                data: Vec::with_capacity(64),
            };
            let mut op = pin!(Read::op(&rd, buf, u64::MAX));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(op.as_mut().poll(&mut cx).is_pending());
            assert_eq!(Arc::strong_count(&token), 2, "op owns the buffer");
            // Let the SQE reach the kernel so the read is really in flight.
            yield_now().await;
            assert_eq!(stats().ops_in_flight, 1);
        } // dropped in flight: cancel queued, state parked in the driver
        assert_eq!(
            Arc::strong_count(&token),
            2,
            "buffer must live until the kernel posts the cancelled read's CQE"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while stats().ops_in_flight > 0 && Instant::now() < deadline {
            yield_now().await;
        }
        assert_eq!(stats().ops_in_flight, 0);
        assert!(stats().ops_cancelled >= 1);
    });
    assert_eq!(Arc::strong_count(&token), 1, "released after the CQE");
    drop(rt);
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn runtime_drop_releases_inflight_buffer() {
    let token = Arc::new(());
    let (rd, _wr) = pipe();
    let rt = Runtime::new().unwrap();
    let t = token.clone();
    rt.block_on(async move {
        ringbolt_runtime::spawn(async move {
            let buf = ArcBuf {
                token: t,
                data: Vec::with_capacity(64),
            };
            let (res, _buf) = Read::op(&rd, buf, u64::MAX).await;
            res.unwrap();
        });
        yield_now().await;
        yield_now().await;
        assert_eq!(stats().ops_in_flight, 1);
    });
    assert_eq!(Arc::strong_count(&token), 2, "task still waits on the read");
    drop(rt);
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "shutdown cancelled, reaped and released"
    );
}

#[test]
fn completed_but_unpolled_op_releases_its_buffer() {
    let rt = Runtime::new().unwrap();
    let token = Arc::new(());
    let (rd, wr) = pipe();
    rt.block_on(async {
        let buf = ArcBuf {
            token: token.clone(),
            data: Vec::with_capacity(64),
        };
        let mut op = pin!(Read::op(&rd, buf, u64::MAX));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(op.as_mut().poll(&mut cx).is_pending());
        // SAFETY: writes 3 bytes from a live buffer to a pipe we own.
        let n = unsafe {
            libc::write(
                std::os::fd::AsRawFd::as_raw_fd(&wr),
                b"abc".as_ptr().cast(),
                3,
            )
        };
        assert_eq!(n, 3);
        let deadline = Instant::now() + Duration::from_secs(5);
        while stats().ops_in_flight > 0 && Instant::now() < deadline {
            yield_now().await;
        }
        assert_eq!(Arc::strong_count(&token), 2, "completed, not yet taken");
    });
    // The pinned op was dropped at the end of the block: completed slot freed, buffer released.
    assert_eq!(Arc::strong_count(&token), 1);
}
