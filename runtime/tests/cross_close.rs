//! `sync::cross`: closing and dropping either side: sends fail with the value handed back,
//! waiting senders are released, the receiver drains then sees the end.

use ringbolt_runtime::sync::cross::{self, SendError, TryRecvError, TrySendError};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

#[test]
fn receiver_dropped_fails_sends_and_drops_queued() {
    let (tx, rx) = cross::channel::<Arc<()>>(1);
    let token = Arc::new(());
    tx.try_send(token.clone()).expect("room");
    let mut cx = Context::from_waker(Waker::noop());
    let mut waiting = pin!(tx.send(token.clone()));
    assert!(waiting.as_mut().poll(&mut cx).is_pending());
    drop(rx);
    assert_eq!(
        Arc::strong_count(&token),
        2,
        "queued message dropped with the receiver"
    );
    match waiting.as_mut().poll(&mut cx) {
        Poll::Ready(Err(SendError(v))) => assert!(Arc::ptr_eq(&v, &token)),
        other => panic!("waiting send must fail, got {:?}", other.map(|r| r.is_ok())),
    }
    assert!(tx.is_closed());
    assert!(matches!(
        tx.try_send(token.clone()),
        Err(TrySendError::Closed(_))
    ));
}

#[test]
fn close_keeps_queued_messages() {
    let (tx, mut rx) = cross::channel::<u32>(4);
    tx.try_send(1).expect("room");
    tx.try_send(2).expect("room");
    rx.close();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn senders_gone_drains_then_none() {
    let (tx, mut rx) = cross::channel::<u32>(4);
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        tx2.try_send(7).expect("room");
    })
    .join()
    .expect("thread");
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(8).expect("room");
    drop(tx);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(8)));
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn oneshot_across_threads() {
    let (tx, rx) = cross::oneshot::channel::<String>();
    let rt = ringbolt_runtime::Runtime::new().expect("runtime");
    std::thread::spawn(move || tx.send("hi".to_owned()).expect("receiver alive"));
    assert_eq!(rt.block_on(rx).as_deref(), Ok("hi"));

    let (tx, rx) = cross::oneshot::channel::<String>();
    std::thread::spawn(move || drop(tx));
    assert!(rt.block_on(rx).is_err(), "sender dropped without sending");

    let (tx, rx) = cross::oneshot::channel::<u8>();
    drop(rx);
    assert_eq!(tx.send(3), Err(3));
}
