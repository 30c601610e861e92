//! `sync::cross`: wakes that cross a core boundary after one side's runtime has shut down are
//! harmless, and the other side sees the channel close.

mod common;

use ringbolt_runtime::sync::cross;
use ringbolt_runtime::Runtime;
use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

#[test]
fn sender_core_exits_first() {
    let _dog = common::watchdog("cross_dead_core", Duration::from_secs(30));
    let (tx, rx) = cross::channel::<u32>(16);
    let rx = std::sync::Mutex::new(Some(rx));
    let tx = std::sync::Mutex::new(Some(tx));
    let out = Runtime::builder()
        .cores(2)
        .launch(|core| {
            let tx = if core == 1 {
                tx.lock().expect("lock").take()
            } else {
                None
            };
            let rx = if core == 0 {
                rx.lock().expect("lock").take()
            } else {
                None
            };
            async move {
                if let Some(tx) = tx {
                    // Core 1 leaves its sender in a detached task and exits: its runtime's
                    // shutdown drops the sender, which wakes core 0 from a dead core.
                    ringbolt_runtime::spawn(async move {
                        for i in 0..100 {
                            tx.send(i).await.expect("receiver alive");
                        }
                        std::future::pending::<()>().await;
                    });
                    ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
                    return 0;
                }
                let mut rx = rx.expect("core 0 receives");
                let mut n = 0;
                while rx.recv().await.is_some() {
                    n += 1;
                }
                n
            }
        })
        .expect("launch");
    assert_eq!(out, vec![100, 0]);
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
