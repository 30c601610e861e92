//! `ReadDir::next_entry` futures dropped while their batch is being read on the helper
//! thread: the listing goes on and ends with `None`, and no entry is lost or repeated.

mod common;

use common::{run, secs, TempDir};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// More than two batches of 256.
const FILES: usize = 700;

#[test]
fn cancelled_next_entry_does_not_break_the_listing() {
    let tmp = TempDir::new("readdir-cancel");
    let mut expected = BTreeSet::new();
    for i in 0..FILES {
        let name = format!("f{i:04}");
        std::fs::write(tmp.join(&name), b"").expect("create file");
        expected.insert(name);
    }
    run(secs(60), async {
        let mut dir = ringbolt_fs::read_dir(tmp.path()).await.expect("read_dir");
        let mut seen = BTreeSet::new();
        let mut cancelled = 0;
        let mut errors = Vec::new();
        let mut cx = Context::from_waker(Waker::noop());
        // Each entry needs at most one cancelled poll plus one that completes; the bound only
        // stops a listing that never ends.
        for _ in 0..FILES * 4 {
            // Poll each future once: a call that must fetch a batch is pending, and is dropped.
            let polled = {
                let mut next = pin!(dir.next_entry());
                next.as_mut().poll(&mut cx)
            };
            match polled {
                Poll::Ready(Ok(Some(entry))) => {
                    let name = entry.file_name().into_string().expect("utf-8 name");
                    assert!(seen.insert(name.clone()), "{name} listed twice");
                }
                Poll::Ready(Ok(None)) => break,
                Poll::Ready(Err(e)) => errors.push(e.to_string()),
                Poll::Pending => {
                    cancelled += 1;
                    // Let the helper thread finish the batch the dropped future started.
                    ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        assert!(errors.is_empty(), "errors after cancellation: {errors:?}");
        assert!(
            cancelled >= 3,
            "each batch fetch was cancelled once ({cancelled})"
        );
        assert_eq!(seen, expected, "every entry listed once");
        // The listing stays ended.
        assert!(dir.next_entry().await.expect("after the end").is_none());
    });
}

#[test]
fn dropping_a_read_dir_with_a_batch_in_flight_is_fine() {
    let tmp = TempDir::new("readdir-drop");
    for i in 0..300 {
        std::fs::write(tmp.join(&format!("g{i}")), b"").expect("create file");
    }
    run(secs(60), async {
        for _ in 0..20 {
            let mut dir = ringbolt_fs::read_dir(tmp.path()).await.expect("read_dir");
            let mut cx = Context::from_waker(Waker::noop());
            let polled = pin!(dir.next_entry()).as_mut().poll(&mut cx).is_pending();
            assert!(polled, "the first call fetches a batch");
            drop(dir);
        }
        // A full listing afterwards still works.
        let mut dir = ringbolt_fs::read_dir(tmp.path()).await.expect("read_dir");
        let mut n = 0;
        while dir.next_entry().await.expect("entry").is_some() {
            n += 1;
        }
        assert_eq!(n, 300);
    });
}
