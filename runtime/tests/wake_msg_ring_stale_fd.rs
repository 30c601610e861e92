//! A `MSG_RING` wake never goes to a stale ring fd.
//!
//! The old `notify` read the target's ring fd and only queued the `MSG_RING`; it went out at the
//! waker's next enter. If the target shut down meanwhile and another io_uring took the same fd
//! number, that ring got a foreign CQE. Now the fd is read and the SQE submitted under the
//! target's lock, which the target takes to clear the fd before its ring closes.
mod common;

use common::watchdog;
use io_uring::IoUring;
use ringbolt_runtime::Runtime;
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

const ROUNDS: usize = 20;

/// The io_uring fds this process has open.
fn ring_fds() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let link = std::fs::read_link(e.path()).ok()?;
            link.to_string_lossy()
                .contains("io_uring")
                .then(|| e.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

#[test]
fn a_wake_whose_target_closes_before_the_wakers_next_turn_reaches_no_other_ring() {
    if common::uring_only("MSG_RING") {
        return;
    }
    let _wd = watchdog("wake_msg_ring_stale_fd", Duration::from_secs(60));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (woke_tx, woke_rx) = mpsc::channel::<()>();
    let (turned_tx, turned_rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    // The waker: a ringbolt core that wakes the current target, then blocks its thread before
    // its loop turns again (where a merely queued SQE would go out).
    let s = slot.clone();
    let waker_thread = std::thread::spawn(move || {
        let rt = Runtime::new().unwrap();
        // The waker's own ring must exist before the first scan below, or the scan could take
        // the waker's fd for the target's (and the test would then close the waker's ring).
        ready_tx.send(()).unwrap();
        rt.block_on(async move {
            for _ in 0..ROUNDS {
                go_rx.recv().unwrap();
                let w = s.lock().unwrap().take().expect("a target registered");
                w.wake();
                woke_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(30));
                ringbolt_runtime::task::yield_now().await;
                ringbolt_runtime::task::yield_now().await;
                turned_tx.send(()).unwrap();
            }
        });
    });
    ready_rx.recv().unwrap();
    let mut stray = 0;
    for _ in 0..ROUNDS {
        let before = ring_fds();
        let target = Runtime::new().unwrap();
        let new: Vec<i32> = ring_fds()
            .into_iter()
            .filter(|fd| !before.contains(fd))
            .collect();
        assert_eq!(
            new.len(),
            1,
            "exactly one new ring fd (the target's): {new:?}"
        );
        let target_fd = new[0];
        let s = slot.clone();
        target.block_on(async move {
            ringbolt_runtime::spawn(std::future::poll_fn(move |cx| {
                *s.lock().unwrap() = Some(cx.waker().clone());
                std::task::Poll::<()>::Pending
            }));
            ringbolt_runtime::task::yield_now().await;
        });
        go_tx.send(()).unwrap();
        woke_rx.recv().unwrap();
        // The target closes while the waker is still inside its task...
        drop(target);
        // ...and a new ring takes the closed ring's fd number.
        let mut bystander = IoUring::new(8).unwrap();
        if bystander.as_raw_fd() != target_fd {
            // SAFETY: target_fd is closed (the target runtime was dropped); dup2 makes it a
            // second fd of the bystander ring, closed when the test process exits.
            let r = unsafe { libc::dup2(bystander.as_raw_fd(), target_fd) };
            assert_eq!(r, target_fd);
        }
        turned_rx.recv().unwrap();
        bystander.submitter().submit().unwrap();
        stray += bystander.completion().len();
        if bystander.as_raw_fd() != target_fd {
            // SAFETY: target_fd is the dup made above, owned by this test.
            unsafe { libc::close(target_fd) };
        }
    }
    waker_thread.join().unwrap();
    assert_eq!(
        stray, 0,
        "{stray} wakes reached an unrelated ring in {ROUNDS} rounds"
    );
}
