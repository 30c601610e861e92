//! `sync::cross`: a batch of messages sent while the receiver is parked costs exactly one wake;
//! messages sent while the receiver is not parked cost none.

use ringbolt_runtime::sync::cross;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn wakes(w: &Arc<CountingWaker>) -> usize {
    w.0.load(Ordering::SeqCst)
}

#[test]
fn batch_costs_one_wake() {
    let (tx, mut rx) = cross::channel::<u32>(4096);
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);

    // Parked on an empty queue.
    assert!(rx.poll_recv(&mut cx).is_pending());
    let sender = std::thread::spawn(move || {
        for i in 0..1000 {
            tx.try_send(i).expect("room for the batch");
        }
        tx
    });
    let tx = sender.join().expect("sender thread");
    assert_eq!(
        wakes(&counter),
        1,
        "1000 messages to a parked receiver: one wake"
    );

    for i in 0..1000 {
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(i)));
    }
    // Not parked: sending more wakes nobody.
    for i in 0..10 {
        tx.try_send(i).expect("room");
    }
    assert_eq!(
        wakes(&counter),
        1,
        "no wake while the receiver is not parked"
    );
    for i in 0..10 {
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(i)));
    }
    // Parked again: the next message wakes once more.
    assert!(rx.poll_recv(&mut cx).is_pending());
    tx.try_send(99).expect("room");
    tx.try_send(100).expect("room");
    assert_eq!(wakes(&counter), 2);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(99)));
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(100)));
    // The last sender leaving wakes a parked receiver, which then sees the end.
    assert!(rx.poll_recv(&mut cx).is_pending());
    drop(tx);
    assert_eq!(wakes(&counter), 3);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn dropped_recv_future_unparks() {
    let (tx, mut rx) = cross::channel::<u32>(8);
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    {
        let mut fut = std::pin::pin!(rx.recv());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    tx.try_send(1).expect("room");
    assert_eq!(
        wakes(&counter),
        0,
        "a dropped recv future must not be woken"
    );
}

use std::future::Future;
