//! `sync::watch`: 10,000 watchers see changes and the final value, closing in both directions.

mod common;

use common::{run, yield_times};

use std::cell::Cell;
use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::watch::{self, error::SendError};
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;

#[test]
fn ten_thousand_watchers_see_the_changes_and_the_last_value() {
    run(async {
        let (tx, rx) = watch::channel(0u32);
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let mut rx = rx.clone();
                spawn(async move {
                    let mut changes = 0;
                    let mut last = *rx.borrow();
                    while rx.changed().await.is_ok() {
                        let now = *rx.borrow_and_update();
                        assert!(now > last, "values only go forward");
                        last = now;
                        changes += 1;
                    }
                    (changes, last)
                })
            })
            .collect();
        drop(rx);
        yield_now().await;
        for v in 1..=5 {
            tx.send(v).expect("receivers exist");
            yield_now().await;
        }
        drop(tx);
        for handle in handles {
            let (changes, last) = handle.await.expect("task completes");
            assert_eq!(last, 5);
            assert!((1..=5).contains(&changes));
        }
    });
}

#[test]
fn changes_between_polls_coalesce() {
    run(async {
        let (tx, mut rx) = watch::channel("a");
        assert!(!rx.has_changed().expect("sender alive"));
        tx.send("b").expect("a receiver exists");
        tx.send("c").expect("a receiver exists");
        assert!(rx.borrow().has_changed());
        rx.changed().await.expect("sender alive");
        assert_eq!(*rx.borrow(), "c");
        assert!(!rx.borrow().has_changed());
        assert!(!rx.has_changed().expect("sender alive"));
    });
}

#[test]
fn changed_waits_until_a_send() {
    run(async {
        let (tx, mut rx) = watch::channel(0);
        let done = Rc::new(Cell::new(false));
        let watcher = {
            let done = Rc::clone(&done);
            spawn(async move {
                rx.changed().await.expect("sender alive");
                done.set(true);
                *rx.borrow()
            })
        };
        yield_times(3).await;
        assert!(!done.get());
        tx.send_modify(|v| *v += 1);
        assert_eq!(watcher.await.expect("task completes"), 1);
    });
}

#[test]
fn dropping_the_sender_ends_changed_after_the_last_change() {
    run(async {
        let (tx, mut rx) = watch::channel(1);
        tx.send(2).expect("a receiver exists");
        drop(tx);
        assert!(rx.has_changed().is_err());
        assert!(rx.changed().await.is_ok(), "the last change is still seen");
        assert_eq!(*rx.borrow(), 2);
        assert!(rx.changed().await.is_err());
    });
}

#[test]
fn send_fails_without_receivers_and_closed_completes() {
    run(async {
        let (tx, rx) = watch::channel(0);
        let rx2 = tx.subscribe();
        assert_eq!(tx.receiver_count(), 2);
        let closed = {
            let tx = Rc::new(tx);
            let waiter = Rc::clone(&tx);
            (tx, spawn(async move { waiter.closed().await }))
        };
        let (tx, closed) = closed;
        drop(rx);
        yield_times(2).await;
        assert!(!closed.is_finished());
        drop(rx2);
        closed.await.expect("closed() completes");
        assert!(tx.is_closed());
        assert_eq!(tx.send(5), Err(SendError(5)));
        assert_eq!(*tx.borrow(), 0, "a failed send stores nothing");
        assert_eq!(tx.send_replace(6), 0);
        assert_eq!(*tx.borrow(), 6);
    });
}

#[test]
fn wait_for_checks_the_current_value_then_waits() {
    run(async {
        let (tx, mut rx) = watch::channel(0);
        assert_eq!(*rx.wait_for(|v| *v == 0).await.expect("sender alive"), 0);
        let waiter = spawn(async move { *rx.wait_for(|v| *v >= 3).await.expect("sender alive") });
        for v in 1..=4 {
            yield_now().await;
            tx.send_if_modified(|cur| {
                *cur = v;
                v != 2
            });
        }
        let got = waiter.await.expect("task completes");
        assert!(got >= 3);
    });
}
