//! A cross-core wake must not wait for the waker's event loop.
//!
//! The old `notify` set the target's `pending` flag and only *queued* a `MSG_RING` in the
//! waker's ring: it reached the kernel at the waker's next `io_uring_enter`. A waker task that
//! went on computing kept the target parked for that whole time, and every other waker saw
//! `pending` set and sent nothing.
mod common;

use common::watchdog;
use ringbolt_runtime::{Builder, CrossWake, Runtime};
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Flag {
    async fn wait(&self) {
        poll_fn(|cx| {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.set.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
    fn set(&self) {
        self.set.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
}

/// The receiver parks on a ringbolt runtime; a waker task on another runtime sets the flag and
/// then blocks its core for `block`. Returns how long the receiver took to wake.
fn wake_latency(mode: CrossWake, block: Duration) -> Duration {
    let flag = Arc::new(Flag::default());
    let (ready_tx, ready_rx) = mpsc::channel();
    let (lat_tx, lat_rx) = mpsc::channel();
    let f = flag.clone();
    let receiver = std::thread::spawn(move || {
        let rt = Builder::new().cross_wake(mode).build().unwrap();
        rt.block_on(async {
            let task = ringbolt_runtime::spawn(async move {
                let waiting = f.wait();
                ready_tx.send(()).unwrap();
                waiting.await;
                lat_tx.send(Instant::now()).unwrap();
            });
            task.await.unwrap();
        });
    });
    ready_rx.recv().unwrap();
    // Give the receiver time to park in io_uring_enter.
    std::thread::sleep(Duration::from_millis(50));
    let waker_rt = Builder::new().cross_wake(mode).build().unwrap();
    let sent = waker_rt.block_on(async {
        let sent = Instant::now();
        flag.set();
        // Computes without yielding: this core's loop does not turn for `block`.
        std::thread::sleep(block);
        sent
    });
    let woke = lat_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("receiver woke");
    receiver.join().unwrap();
    drop(Runtime::new());
    woke.saturating_duration_since(sent)
}

#[test]
fn msg_ring_wake_is_delivered_while_the_waker_computes() {
    let _wd = watchdog("wake_not_held_hostage", Duration::from_secs(60));
    let block = Duration::from_millis(1500);
    let lat = wake_latency(CrossWake::MsgRing, block);
    eprintln!("MSG_RING wake latency while the waker computes: {lat:?}");
    assert!(
        lat < Duration::from_millis(700),
        "the receiver woke {lat:?} after the wake; it waited for the waker's loop ({block:?})"
    );
    let lat = wake_latency(CrossWake::Eventfd, block);
    eprintln!("eventfd wake latency while the waker computes: {lat:?}");
    assert!(
        lat < Duration::from_millis(700),
        "eventfd wake took {lat:?}"
    );
}
