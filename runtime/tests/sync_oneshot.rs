//! `sync::oneshot`: delivery across 10,000 channels, errors when either side goes away.

mod common;

use common::{run, yield_times};

use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::oneshot::{self, error::TryRecvError};
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;

#[test]
fn ten_thousand_channels_each_deliver_their_value() {
    run(async {
        let mut receivers = Vec::with_capacity(TASKS);
        for i in 0..TASKS {
            let (tx, rx) = oneshot::channel();
            receivers.push(spawn(async move { rx.await.expect("sent") }));
            spawn(async move {
                yield_now().await;
                tx.send(i).expect("receiver alive");
            });
        }
        for (i, receiver) in receivers.into_iter().enumerate() {
            assert_eq!(receiver.await.expect("task completes"), i);
        }
    });
}

#[test]
fn dropping_the_sender_wakes_the_receiver_with_an_error() {
    run(async {
        let (tx, rx) = oneshot::channel::<u32>();
        let receiver = spawn(rx);
        yield_times(3).await;
        assert!(!receiver.is_finished());
        drop(tx);
        assert!(receiver.await.expect("task completes").is_err());
    });
}

#[test]
fn send_hands_the_value_back_when_the_receiver_is_gone() {
    run(async {
        let (tx, rx) = oneshot::channel();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(String::from("back")), Err(String::from("back")));

        let (tx, mut rx) = oneshot::channel();
        rx.close();
        assert_eq!(tx.send(5), Err(5));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn closed_completes_when_the_receiver_goes_away() {
    run(async {
        let (mut tx, rx) = oneshot::channel::<()>();
        let watcher = spawn(async move {
            tx.closed().await;
            tx.is_closed()
        });
        yield_times(3).await;
        assert!(!watcher.is_finished());
        drop(rx);
        assert!(watcher.await.expect("task completes"));
    });
}

#[test]
fn try_recv_reports_empty_then_value_then_closed() {
    run(async {
        let (tx, mut rx) = oneshot::channel();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send(3).expect("receiver alive");
        assert_eq!(rx.try_recv(), Ok(3));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn a_value_sent_but_never_received_is_dropped_with_the_receiver() {
    run(async {
        let value = Rc::new(());
        let (tx, rx) = oneshot::channel();
        tx.send(Rc::clone(&value)).expect("receiver alive");
        assert_eq!(Rc::strong_count(&value), 2);
        drop(rx);
        assert_eq!(Rc::strong_count(&value), 1);
    });
}
