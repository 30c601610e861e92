//! `sync::mpsc`: exactly-once FIFO delivery from 10,000 senders, back-pressure, closing,
//! dropped senders waiting for a slot.

mod common;

use common::{run, yield_times};

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::mpsc::{
    self,
    error::{SendError, TryRecvError, TrySendError},
};
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;
const PER_SENDER: u32 = 10;

/// Checks that every sender's messages arrived exactly once, in order.
fn check_exactly_once_in_order(received: &[(usize, u32)]) {
    assert_eq!(received.len(), TASKS * PER_SENDER as usize);
    let mut next = vec![0u32; TASKS];
    for &(sender, seq) in received {
        assert_eq!(
            seq, next[sender],
            "sender {sender} out of order or duplicated"
        );
        next[sender] += 1;
    }
    assert!(next.iter().all(|&n| n == PER_SENDER));
}

#[test]
fn bounded_delivers_every_message_once_in_order_per_sender() {
    run(async {
        let (tx, mut rx) = mpsc::channel(64);
        for sender in 0..TASKS {
            let tx = tx.clone();
            spawn(async move {
                for seq in 0..PER_SENDER {
                    tx.send((sender, seq)).await.expect("receiver alive");
                    if seq % 3 == 0 {
                        yield_now().await;
                    }
                }
            });
        }
        drop(tx);
        let mut received = Vec::with_capacity(TASKS * PER_SENDER as usize);
        while let Some(message) = rx.recv().await {
            assert!(rx.len() <= 64);
            received.push(message);
        }
        check_exactly_once_in_order(&received);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn unbounded_delivers_every_message_once_in_order_per_sender() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for sender in 0..TASKS {
            let tx = tx.clone();
            spawn(async move {
                for seq in 0..PER_SENDER {
                    tx.send((sender, seq)).expect("receiver alive");
                    yield_now().await;
                }
            });
        }
        drop(tx);
        let mut received = Vec::with_capacity(TASKS * PER_SENDER as usize);
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, 100).await > 0 {
            received.append(&mut batch);
        }
        check_exactly_once_in_order(&received);
    });
}

#[test]
fn a_full_channel_blocks_the_sender_until_one_recv() {
    run(async {
        let (tx, mut rx) = mpsc::channel(2);
        tx.try_send(1).expect("room");
        tx.try_send(2).expect("room");
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(tx.capacity(), 0);
        let sent = Rc::new(Cell::new(false));
        let sender = {
            let (tx, sent) = (tx.clone(), Rc::clone(&sent));
            spawn(async move {
                tx.send(3).await.expect("receiver alive");
                sent.set(true);
            })
        };
        yield_times(5).await;
        assert!(
            !sent.get(),
            "the sender must wait while the channel is full"
        );
        assert_eq!(rx.recv().await, Some(1));
        sender.await.expect("task completes");
        assert!(sent.get(), "one recv frees one slot for the sender");
        assert_eq!(tx.try_send(4), Err(TrySendError::Full(4)));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn blocked_senders_get_slots_in_fifo_order() {
    run(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.expect("room");
        for i in 1..=100 {
            let tx = tx.clone();
            spawn(async move { tx.send(i).await.expect("receiver alive") });
        }
        drop(tx);
        let mut received = Vec::new();
        while let Some(v) = rx.recv().await {
            received.push(v);
        }
        assert!(received.into_iter().eq(0..=100));
    });
}

#[test]
fn aborted_senders_leave_the_queue_and_pass_on_a_handed_slot() {
    run(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send("first").await.expect("room");
        let sender = |value: &'static str| {
            let tx = tx.clone();
            spawn(async move { tx.send(value).await.expect("receiver alive") })
        };
        let a = sender("a");
        let b = sender("b");
        let c = sender("c");
        yield_times(3).await;
        // b waits in the middle of the queue.
        b.abort();
        assert!(b.await.expect_err("aborted").is_cancelled());
        // Receiving frees the slot and hands it to a, which is aborted before it runs.
        assert_eq!(rx.recv().await, Some("first"));
        a.abort();
        assert!(a.await.expect_err("aborted").is_cancelled());
        c.await.expect("c got the slot a was handed");
        assert_eq!(rx.recv().await, Some("c"));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(tx.capacity(), 1, "no slot was lost");
        tx.try_send("again").expect("room");
        assert_eq!(rx.recv().await, Some("again"));
    });
}

#[test]
fn a_dropped_send_future_frees_its_place() {
    run(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(1).expect("room");
        {
            let mut cx = Context::from_waker(Waker::noop());
            let mut send = pin!(tx.send(2));
            assert!(send.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.try_send(3)
            .expect("the slot is free, not held by the dropped future");
    });
}

#[test]
fn dropping_the_receiver_fails_sends_and_hands_values_back() {
    run(async {
        let (tx, rx) = mpsc::channel(1);
        tx.try_send(String::from("queued")).expect("room");
        let waiting = {
            let tx = tx.clone();
            spawn(async move { tx.send(String::from("waiting")).await })
        };
        yield_times(3).await;
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(
            waiting.await.expect("task completes"),
            Err(SendError(String::from("waiting")))
        );
        assert_eq!(
            tx.send(String::from("late")).await,
            Err(SendError(String::from("late")))
        );
        assert_eq!(
            tx.try_send(String::from("try")),
            Err(TrySendError::Closed(String::from("try")))
        );
        tx.closed().await;

        let (utx, urx) = mpsc::unbounded_channel();
        drop(urx);
        assert_eq!(utx.send(7), Err(SendError(7)));
        utx.closed().await;
    });
}

#[test]
fn close_keeps_queued_values_then_ends() {
    run(async {
        let (tx, mut rx) = mpsc::channel(4);
        tx.send(1).await.expect("room");
        tx.send(2).await.expect("room");
        let closed = {
            let tx = tx.clone();
            spawn(async move { tx.closed().await })
        };
        rx.close();
        closed.await.expect("closed() completes");
        assert_eq!(tx.send(3).await, Err(SendError(3)));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn dropping_every_sender_wakes_the_receiver_after_the_queue_drains() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        let receiver = spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        });
        yield_times(2).await;
        tx.send(5).expect("receiver alive");
        let tx2 = tx.clone();
        drop(tx);
        yield_times(2).await;
        assert!(!receiver.is_finished(), "one sender is still alive");
        tx2.send(6).expect("receiver alive");
        drop(tx2);
        assert_eq!(receiver.await.expect("task completes"), [5, 6]);
    });
}

#[test]
fn dropping_the_receiver_drops_queued_values() {
    run(async {
        let value = Rc::new(());
        let (tx, rx) = mpsc::channel(8);
        for _ in 0..5 {
            tx.try_send(Rc::clone(&value)).expect("room");
        }
        assert_eq!(Rc::strong_count(&value), 6);
        drop(rx);
        assert_eq!(Rc::strong_count(&value), 1);
    });
}

#[test]
fn reserved_permits_hold_a_slot_until_used_or_dropped() {
    run(async {
        let (tx, mut rx) = mpsc::channel(2);
        let permit = tx.reserve().await.expect("room");
        let other = tx.try_reserve().expect("room");
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
        drop(other);
        assert_eq!(tx.capacity(), 1);
        permit.send(9);
        assert_eq!(rx.recv().await, Some(9));
        assert_eq!(tx.capacity(), 2);
        assert_eq!(tx.max_capacity(), 2);
    });
}
