//! `sync::cross`: a bounded channel never holds more than its capacity in flight; a full
//! channel makes `send` wait until the receiver frees a slot, on another thread too.

mod common;

use ringbolt_runtime::sync::cross::{self, TrySendError};
use ringbolt_runtime::Runtime;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn full_channel_blocks_then_resumes() {
    let (tx, mut rx) = cross::channel::<u32>(4);
    for i in 0..4 {
        tx.try_send(i).expect("below capacity");
    }
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));

    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(tx.send(4));
    assert!(send.as_mut().poll(&mut cx).is_pending(), "full: send waits");
    assert!(send.as_mut().poll(&mut cx).is_pending(), "still full");
    assert_eq!(counter.0.load(Ordering::SeqCst), 0);

    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(0)));
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "a freed slot wakes the sender"
    );
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    for i in 1..=4 {
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(i)));
    }
}

#[test]
fn woken_sender_dropped_passes_the_slot_on() {
    let (tx, mut rx) = cross::channel::<u32>(1);
    tx.try_send(0).expect("room");
    let a = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let b = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
    let mut send_a = Box::pin(tx.send(1));
    let mut send_b = pin!(tx.send(2));
    assert!(send_a
        .as_mut()
        .poll(&mut Context::from_waker(&wa))
        .is_pending());
    assert!(send_b
        .as_mut()
        .poll(&mut Context::from_waker(&wb))
        .is_pending());

    let rx_waker = Waker::noop();
    assert_eq!(
        rx.poll_recv(&mut Context::from_waker(rx_waker)),
        Poll::Ready(Some(0))
    );
    assert_eq!(a.0.load(Ordering::SeqCst), 1, "oldest waiter woken first");
    assert_eq!(b.0.load(Ordering::SeqCst), 0);
    drop(send_a);
    assert_eq!(b.0.load(Ordering::SeqCst), 1, "the wake is passed on");
    assert_eq!(
        send_b.as_mut().poll(&mut Context::from_waker(&wb)),
        Poll::Ready(Ok(()))
    );
    assert_eq!(
        rx.poll_recv(&mut Context::from_waker(rx_waker)),
        Poll::Ready(Some(2))
    );
}

#[test]
fn in_flight_never_exceeds_capacity_across_cores() {
    const CAP: usize = 8;
    const N: u64 = 50_000;
    let _dog = common::watchdog("cross_backpressure", Duration::from_secs(60));
    let (tx, rx) = cross::channel::<u64>(CAP);
    let tx = std::sync::Mutex::new(Some(tx));
    let rx = std::sync::Mutex::new(Some(rx));
    let out = Runtime::builder()
        .cores(2)
        .launch(|core| {
            let (tx, rx) = if core == 0 {
                (tx.lock().expect("lock").take(), None)
            } else {
                (None, rx.lock().expect("lock").take())
            };
            async move {
                match (tx, rx) {
                    (Some(tx), _) => {
                        for i in 0..N {
                            assert!(tx.max_capacity() - tx.capacity() <= CAP);
                            tx.send(i).await.expect("receiver alive");
                        }
                        (0, 0)
                    }
                    (None, Some(mut rx)) => {
                        let (mut max_seen, mut n) = (0, 0);
                        while let Some(v) = rx.recv().await {
                            // Still in flight besides the one just received.
                            max_seen = max_seen.max(rx.len());
                            assert_eq!(v, n);
                            n += 1;
                            if n % 1000 == 0 {
                                // Let the sender fill the channel up.
                                ringbolt_runtime::time::sleep(Duration::from_micros(50)).await;
                            }
                        }
                        (n, max_seen)
                    }
                    (None, None) => panic!("core {core} got no channel half"),
                }
            }
        })
        .expect("launch");
    let (n, max_seen) = out[1];
    assert_eq!(n, N);
    assert!(
        max_seen <= CAP,
        "saw {max_seen} in flight with capacity {CAP}"
    );
    assert!(max_seen >= CAP - 1, "the sender did fill the channel");
}
