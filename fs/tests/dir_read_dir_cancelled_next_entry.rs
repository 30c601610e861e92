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
        // Whether a batch is still being read at the first poll is a race with the helper
        // thread (a freshly spawned one can finish first); list again until a cancellation
        // really happened, checking every listing in full.
        let mut cancelled = 0;
        for _ in 0..ATTEMPTS {
            cancelled += list_with_cancellations(tmp.path(), &expected).await;
            if cancelled > 0 {
                break;
            }
        }
        assert!(cancelled > 0, "no next_entry was ever cancelled mid-batch");
        eprintln!("{cancelled} next_entry calls cancelled mid-batch");
    });
}

/// Listings to try before giving up on catching a batch in flight.
const ATTEMPTS: usize = 50;

/// Lists `dir`, polling each `next_entry` future once and dropping it if it is pending;
/// checks that every entry comes exactly once, with no error, and that the listing ends.
/// Returns how many futures were dropped mid-batch.
async fn list_with_cancellations(path: &std::path::Path, expected: &BTreeSet<String>) -> usize {
    let mut dir = ringbolt_fs::read_dir(path).await.expect("read_dir");
    let mut seen = BTreeSet::new();
    let mut cancelled = 0;
    let mut errors = Vec::new();
    let mut cx = Context::from_waker(Waker::noop());
    let mut ended = false;
    // Each entry needs at most one cancelled poll plus one that completes; the bound only
    // stops a listing that never ends.
    for _ in 0..FILES * 4 {
        let polled = {
            let mut next = pin!(dir.next_entry());
            next.as_mut().poll(&mut cx)
        };
        match polled {
            Poll::Ready(Ok(Some(entry))) => {
                let name = entry.file_name().into_string().expect("utf-8 name");
                assert!(seen.insert(name.clone()), "{name} listed twice");
            }
            Poll::Ready(Ok(None)) => {
                ended = true;
                break;
            }
            Poll::Ready(Err(e)) => errors.push(e.to_string()),
            Poll::Pending => {
                cancelled += 1;
                // Let the helper thread finish the batch the dropped future started.
                ringbolt_runtime::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} errors after cancellation, the first: {:?}",
        errors.len(),
        errors.first()
    );
    assert!(ended, "the listing never ended");
    assert_eq!(&seen, expected, "every entry listed once");
    // The listing stays ended.
    assert!(dir.next_entry().await.expect("after the end").is_none());
    cancelled
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
            // Usually pending (the batch is being read); either way the listing is dropped
            // next, possibly with its batch job still running.
            let _ = pin!(dir.next_entry()).as_mut().poll(&mut cx);
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
