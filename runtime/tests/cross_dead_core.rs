//! `sync::cross`: wakes that cross a core boundary after one side's runtime has shut down are
//! harmless, and the other side sees the channel close.

mod common;

use ringbolt_runtime::sync::cross;
use ringbolt_runtime::{CrossWake, Runtime};
use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

#[test]
fn sender_core_exits_first_msg_ring() {
    sender_core_exits_first(CrossWake::MsgRing);
}

#[test]
fn sender_core_exits_first_eventfd() {
    sender_core_exits_first(CrossWake::Eventfd);
}

/// Two runtimes on two threads: the sender's runtime shuts down with a task still holding the
/// sender (blocked on a full channel); its shutdown drops the sender, whose wake must reach
/// the receiver's core. (Not `launch`, which keeps every core alive until all are done.)
fn sender_core_exits_first(wake: CrossWake) {
    let _dog = common::watchdog("cross_dead_core", Duration::from_secs(30));
    let (tx, mut rx) = cross::channel::<u32>(16);
    let sender = std::thread::spawn(move || {
        let rt = Runtime::builder()
            .cross_wake(wake)
            .build()
            .expect("sender runtime");
        rt.block_on(async move {
            ringbolt_runtime::spawn(async move {
                for i in 0..100 {
                    tx.send(i).await.expect("receiver alive");
                }
                std::future::pending::<()>().await;
            });
            ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
        });
        // Dropping the runtime drops the blocked task and with it the sender.
        drop(rt);
    });
    let rt = Runtime::builder()
        .cross_wake(wake)
        .build()
        .expect("receiver runtime");
    let n = rt.block_on(async move {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    sender.join().expect("sender thread");
    assert_eq!(
        n, 100,
        "everything sent was received, then the channel closed"
    );
}

#[test]
fn waking_a_dead_runtime_is_a_no_op() {
    let (tx, mut rx) = cross::channel::<u32>(4);
    let rt = Runtime::new().expect("runtime");
    // Park the receiver with this runtime's waker, keep the receiver alive, drop the runtime.
    rt.block_on(poll_fn(|cx| {
        assert!(rx.poll_recv(cx).is_pending());
        Poll::Ready(())
    }));
    drop(rt);
    std::thread::spawn(move || tx.try_send(5).expect("room"))
        .join()
        .expect("waking a dead runtime from another thread must not panic");
    assert_eq!(rx.try_recv(), Ok(5));
}
