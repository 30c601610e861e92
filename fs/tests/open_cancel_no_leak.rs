//! Opens whose futures are dropped in flight never leak the fd the kernel opened anyway.

mod common;

use common::{fd_count, run, secs, TempDir};
use ringbolt_fs::File;
use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::Duration;

#[test]
fn dropped_opens_never_leak_fds() {
    let tmp = TempDir::new("open-cancel");
    let path = tmp.join("f");
    std::fs::write(&path, b"x").expect("file");
    run(secs(30), async {
        let baseline = fd_count();
        let cancelled_before = ringbolt_runtime::stats().ops_cancelled;
        for _ in 0..20 {
            let mut opens: Vec<_> = (0..50).map(|_| Box::pin(File::open(&path))).collect();
            // One poll each: every openat is submitted, none can have completed yet.
            poll_fn(|cx| {
                for op in opens.iter_mut() {
                    assert!(op.as_mut().poll(cx).is_pending());
                }
                Poll::Ready(())
            })
            .await;
            drop(opens);
        }
        let cancelled = ringbolt_runtime::stats().ops_cancelled - cancelled_before;
        // Opens the driver already reaped (while flushing a full SQ) are released without a
        // cancel; the rest were cancelled in flight. Both paths must close the fd.
        eprintln!("{cancelled} of 1000 dropped opens were cancelled in flight");
        assert!(cancelled > 0, "some dropped opens were in flight");
        for _ in 0..5000 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
        ringbolt_runtime::task::yield_now().await;
        assert_eq!(
            fd_count(),
            baseline,
            "fds opened by cancelled opens were closed"
        );
    });
}
