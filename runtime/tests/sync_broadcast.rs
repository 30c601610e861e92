//! `sync::broadcast`: every receiver among 10,000 sees every value in order, lagging
//! receivers get `Lagged(n)`, values are dropped once seen, closing.

mod common;

use common::{run, yield_times};

use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::broadcast::{
    self,
    error::{RecvError, SendError, TryRecvError},
};
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;

#[test]
fn ten_thousand_receivers_see_every_value_in_order() {
    const VALUES: u32 = 16;
    run(async {
        let (tx, rx) = broadcast::channel(VALUES as usize);
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let mut rx = rx.resubscribe();
                spawn(async move {
                    let mut seen = Vec::new();
                    loop {
                        match rx.recv().await {
                            Ok(v) => seen.push(v),
                            Err(RecvError::Closed) => return seen,
                            Err(RecvError::Lagged(n)) => panic!("lagged by {n}"),
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        yield_now().await;
        for v in 0..VALUES {
            assert_eq!(tx.send(v), Ok(TASKS));
            if v % 4 == 0 {
                yield_now().await;
            }
        }
        drop(tx);
        for handle in handles {
            assert!(handle
                .await
                .expect("task completes")
                .into_iter()
                .eq(0..VALUES));
        }
    });
}

#[test]
fn a_lagging_receiver_is_told_how_many_it_missed() {
    run(async {
        let (tx, mut rx) = broadcast::channel(4);
        for v in 0..10 {
            tx.send(v).expect("a receiver exists");
        }
        assert_eq!(rx.recv().await, Err(RecvError::Lagged(6)));
        for v in 6..10 {
            assert_eq!(rx.recv().await, Ok(v));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send(10).expect("a receiver exists");
        assert_eq!(rx.try_recv(), Ok(10));
    });
}

#[test]
fn values_are_dropped_once_every_receiver_has_seen_them() {
    run(async {
        let value = Rc::new(());
        let (tx, mut a) = broadcast::channel(8);
        let mut b = tx.subscribe();
        tx.send(Rc::clone(&value)).expect("receivers exist");
        tx.send(Rc::clone(&value)).expect("receivers exist");
        assert_eq!(Rc::strong_count(&value), 3);
        drop(a.recv().await.expect("value"));
        drop(a.recv().await.expect("value"));
        assert_eq!(Rc::strong_count(&value), 3, "b has not seen them");
        drop(b.recv().await.expect("value"));
        assert_eq!(Rc::strong_count(&value), 2);
        assert_eq!(tx.len(), 1);
        drop(b); // the receiver that had not seen the last value goes away
        assert_eq!(Rc::strong_count(&value), 1);
        assert!(tx.is_empty());
    });
}

#[test]
fn subscribers_see_only_later_values() {
    run(async {
        let (tx, mut early) = broadcast::channel(8);
        tx.send(1).expect("a receiver exists");
        let mut late = tx.subscribe();
        tx.send(2).expect("receivers exist");
        assert_eq!(early.recv().await, Ok(1));
        assert_eq!(early.recv().await, Ok(2));
        assert_eq!(late.recv().await, Ok(2));
        assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn send_fails_without_receivers_and_recv_fails_without_senders() {
    run(async {
        let (tx, rx) = broadcast::channel::<u32>(2);
        drop(rx);
        assert_eq!(tx.send(1), Err(SendError(1)));
        let mut rx = tx.subscribe();
        tx.send(2).expect("a receiver exists");
        let waiting = {
            let mut rx = tx.subscribe();
            spawn(async move { rx.recv().await })
        };
        yield_times(2).await;
        drop(tx);
        assert_eq!(
            waiting.await.expect("task completes"),
            Err(RecvError::Closed)
        );
        assert_eq!(rx.recv().await, Ok(2), "unseen values are still delivered");
        assert_eq!(rx.recv().await, Err(RecvError::Closed));
    });
}

#[test]
fn aborted_receivers_leave_the_wait_queue() {
    run(async {
        let (tx, rx) = broadcast::channel(4);
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let mut rx = rx.resubscribe();
                spawn(async move { rx.recv().await })
            })
            .collect();
        yield_times(2).await;
        for handle in handles.iter().step_by(2) {
            handle.abort();
        }
        yield_times(2).await;
        assert_eq!(
            tx.receiver_count(),
            6,
            "5 aborted tasks dropped their receivers"
        );
        assert_eq!(tx.send(7), Ok(6));
        for (i, handle) in handles.into_iter().enumerate() {
            match handle.await {
                Ok(got) => assert!(i % 2 == 1 && got == Ok(7)),
                Err(err) => assert!(i % 2 == 0 && err.is_cancelled()),
            }
        }
    });
}
