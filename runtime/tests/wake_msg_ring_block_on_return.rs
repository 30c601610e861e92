//! A wake sent to another thread's runtime from inside `block_on` must reach it even when that
//! `block_on` returns right away.
//!
//! `Shared::notify` sets the target's `pending` flag and, on a ringbolt thread, only *queues* a
//! `MSG_RING` SQE on the waker's own ring ("it leaves with the sender's next enter"). When the
//! sender's `block_on` future is ready on that same poll, `block_on` returns without another
//! `io_uring_enter`: the SQE stays in the SQ, the target sleeps in its wait, and since `pending`
//! stays set no later wake signals it either.
mod common;

use common::watchdog;
use ringbolt_runtime::Runtime;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

#[test]
fn wake_from_a_returning_block_on_reaches_the_other_runtime() {
    let _wd = watchdog("review_msg_ring_lost_wake", Duration::from_secs(60));
    let flag = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let (done_tx, done_rx) = mpsc::channel();

    let (f, s) = (flag.clone(), slot.clone());
    let target = std::thread::spawn(move || {
        let rt = Runtime::new().unwrap();
        rt.block_on(poll_fn(|cx| {
            if f.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            *s.lock().unwrap() = Some(cx.waker().clone());
            if f.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        let _ = done_tx.send(());
    });

    // Wait until the target parked its waker (and then some, so it sleeps in io_uring_enter).
    let deadline = Instant::now() + Duration::from_secs(5);
    while slot.lock().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    let waker = slot.lock().unwrap().take().expect("target never polled");

    // Wake it from inside this thread's runtime; the block_on future is ready at once.
    let sender = Runtime::new().unwrap();
    sender.block_on(async {
        flag.store(true, Ordering::Release);
        waker.wake();
    });
    let woke = done_rx.recv_timeout(Duration::from_secs(3)).is_ok();

    // Unblock the target either way (the sender's shutdown submits the queued SQE).
    drop(sender);
    target.join().unwrap();
    assert!(
        woke,
        "the target runtime was not woken while the sender's runtime stayed alive: the MSG_RING \
         SQE sat unsubmitted in the sender's SQ"
    );
}
