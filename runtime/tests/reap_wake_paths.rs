//! The event loop's reap queues this core's woken tasks on the run queue while it runs, and
//! keeps every other waker for after the driver is released (`WakeSink` in the driver, the
//! turn's sink in `runtime.rs`). These tests drive each branch with real ops:
//! - an op polled with a waker that is not a task's (a combinator's, a user's own) is woken
//!   once, after the reap, and then completes;
//! - an op whose task is already queued when its completion is reaped (the task woke itself)
//!   neither queues the task twice nor loses the completion;
//! - a task woken by many completions of one turn runs once per turn, not once per completion.
mod common;

use common::watchdog;
use ringbolt_runtime::ops::{Nop, Read, Write};
use ringbolt_runtime::{spawn, Runtime, SharedFd};
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// A waker that only counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_foreign_waker_is_woken_once_after_the_reap() {
    let _w = watchdog(
        "a_foreign_waker_is_woken_once_after_the_reap",
        Duration::from_secs(30),
    );
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let (r, w) = common::pipe();
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        // A read of an empty pipe: in flight with the foreign waker registered.
        let mut read = pin!(Read::op(&r, Vec::with_capacity(16), u64::MAX));
        assert!(read.as_mut().poll(&mut cx).is_pending());
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        // Data arrives; a few turns (a sleep) let the ring complete the read and reap it.
        let n = nix_write(&w, b"hello");
        assert_eq!(n, 5);
        ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "the foreign waker is woken exactly once"
        );
        match read.as_mut().poll(&mut cx) {
            Poll::Ready((res, buf)) => {
                assert_eq!(res.expect("read"), 5);
                assert_eq!(&buf[..], b"hello");
            }
            Poll::Pending => panic!("the read completed but its future is still pending"),
        }
    });
}

/// Writes to the pipe's write end directly (no ring).
fn nix_write(fd: &std::os::fd::OwnedFd, data: &[u8]) -> isize {
    use std::os::fd::AsRawFd;
    // SAFETY: `data` is a valid buffer of `data.len()` bytes and `fd` an open pipe.
    unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) }
}

#[test]
fn a_completion_for_an_already_queued_task_is_kept() {
    let _w = watchdog(
        "a_completion_for_an_already_queued_task_is_kept",
        Duration::from_secs(30),
    );
    // On the epoll driver a NOP completes during its submission: no completion to reap.
    if common::uring_only("a NOP completing at a later turn") {
        return;
    }
    let rt = Runtime::new().expect("runtime");
    let done = rt.block_on(async {
        let handle = spawn(async {
            let mut completed = 0u32;
            for _ in 0..2_000 {
                let mut op = pin!(Nop::op());
                let mut polls = 0u32;
                poll_fn(|cx| {
                    polls += 1;
                    match op.as_mut().poll(cx) {
                        Poll::Ready(res) => {
                            res.expect("nop");
                            Poll::Ready(())
                        }
                        Poll::Pending => {
                            // Queue this task again before the turn reaps the NOP: when its
                            // completion is reaped, the task is already in the run queue.
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                    }
                })
                .await;
                assert!(
                    polls >= 2,
                    "a NOP completes at a turn, after its first poll"
                );
                completed += 1;
            }
            completed
        });
        handle.await.expect("task")
    });
    assert_eq!(done, 2_000);
}

#[test]
fn many_completions_of_one_turn_queue_their_task_once() {
    let _w = watchdog(
        "many_completions_of_one_turn_queue_their_task_once",
        Duration::from_secs(30),
    );
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let (r, w) = common::pipe();
        let w = SharedFd::new(w);
        let polls = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let p = polls.clone();
        let handle = spawn(async move {
            // 32 NOPs in flight at once, all polled by this one task: their completions come
            // in one reap, and each wakes the same task.
            let mut ops: Vec<_> = (0..32).map(|_| Box::pin(Nop::op())).collect();
            let mut left = ops.len();
            poll_fn(|cx| {
                p.set(p.get() + 1);
                for op in ops.iter_mut() {
                    if op.is_in_flight() || p.get() == 1 {
                        if let Poll::Ready(res) = op.as_mut().poll(cx) {
                            res.expect("nop");
                            left -= 1;
                        }
                    }
                }
                if left == 0 {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        });
        handle.await.expect("task");
        // First poll submits all 32; the next turn reaps all 32 completions and queues the
        // task once; its second poll takes them all. (On the epoll driver a NOP completes
        // during its submission: one poll.)
        assert!(
            polls.get() <= 2,
            "the task ran {} times for one turn's completions",
            polls.get()
        );
        // The ring still works for plain ops afterwards.
        let (res, _) = Write::op(&w, b"x".to_vec(), u64::MAX).await;
        assert_eq!(res.expect("write"), 1);
        let (res, buf) = Read::op(&r, Vec::with_capacity(4), u64::MAX).await;
        assert_eq!(res.expect("read"), 1);
        assert_eq!(&buf[..], b"x");
    });
}

/// `block_on`'s own waker is woken in place by the reap (no list, no call through its
/// vtable); an op that carries the waker of an earlier `block_on` into a later one goes the
/// general way, and both complete.
#[test]
fn main_wakers_of_this_and_an_earlier_block_on() {
    let _w = watchdog(
        "main_wakers_of_this_and_an_earlier_block_on",
        Duration::from_secs(30),
    );
    let rt = Runtime::new().expect("runtime");
    // Many ops awaited by the main future itself: each completion wakes the main waker.
    rt.block_on(async {
        for _ in 0..1000 {
            Nop::op().await.expect("nop");
        }
    });
    // An op first polled (submitted) under one block_on's waker and finished under the next.
    let mut op = rt
        .block_on(async {
            let mut op = Nop::op();
            let first = poll_fn(|cx| Poll::Ready(Pin::new(&mut op).poll(cx))).await;
            assert!(
                first.is_pending(),
                "a NOP completes on the ring, not at submission"
            );
            // In an `Option`: the op is carried out of this block_on, not awaited by it.
            Some(op)
        })
        .expect("the op");
    rt.block_on(async {
        (&mut op)
            .await
            .expect("nop submitted under the earlier block_on");
        Nop::op().await.expect("nop");
    });
}
