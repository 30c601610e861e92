//! `block_on` called from inside a task of the same runtime must not poll a task re-entrantly.
//!
//! `context::enter` accepts `prev == this`, so a task that reaches its own runtime (here through
//! a leaked `&'static Runtime`) can call `block_on`, whose `sched.run` pops and polls whatever is
//! queued — including the very task whose `poll` is still on the stack. That is a second
//! `&mut` to a pinned future that is being polled (and the inner poll may even complete and drop
//! it in place under the outer poll).
mod common;

use common::watchdog;
use ringbolt_runtime::task::yield_now;
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static MAX_DEPTH: Cell<u32> = const { Cell::new(0) };
    static STARTED: Cell<bool> = const { Cell::new(false) };
}

/// Counts how deeply its own `poll` is nested. Touches no field of `self` after the nested
/// `block_on`, so the re-entrant poll is observable without relying on its memory.
struct Reenter {
    rt: &'static Runtime,
}

impl Future for Reenter {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let rt = self.rt;
        let depth = DEPTH.get() + 1;
        DEPTH.set(depth);
        MAX_DEPTH.set(MAX_DEPTH.get().max(depth));
        let first = !STARTED.replace(true);
        if first {
            // Queue this task again while it runs, then drive the runtime from inside it.
            cx.waker().wake_by_ref();
            let _ = catch_unwind(AssertUnwindSafe(|| rt.block_on(yield_now())));
        }
        DEPTH.set(depth - 1);
        if first {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

#[test]
fn nested_block_on_never_polls_a_running_task_again() {
    let _wd = watchdog("review_nested_block_on", Duration::from_secs(30));
    let rt: &'static Runtime = Box::leak(Box::new(Runtime::new().unwrap()));
    rt.block_on(async {
        let h = ringbolt_runtime::spawn(Reenter { rt });
        // Whatever the nested block_on does (run or panic), the task must end. A timer, not
        // yield_now, wakes this loop: see the test below for why.
        for _ in 0..100 {
            if h.is_finished() {
                break;
            }
            sleep(Duration::from_millis(1)).await;
        }
    });
    assert_eq!(
        MAX_DEPTH.get(),
        1,
        "a task's poll was entered again while it was still running (nested block_on on the \
         same runtime ran the task from inside its own poll)"
    );
}

/// The nested `block_on` shares `Shared::main_woken` with the outer one: it consumes the wake
/// meant for the outer `block_on` future, and the outer loop then parks in `io_uring_enter`
/// with nothing left to wake it.
#[test]
fn nested_block_on_does_not_swallow_the_outer_wake() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt: &'static Runtime = Box::leak(Box::new(Runtime::new().unwrap()));
        rt.block_on(async {
            let _h = ringbolt_runtime::spawn(Reenter { rt });
            // Wakes the outer block_on future, then lets the task (and its nested block_on) run.
            yield_now().await;
        });
        let _ = tx.send(());
    });
    let finished = rx.recv_timeout(Duration::from_secs(5)).is_ok();
    assert!(
        finished,
        "the outer block_on never returned: its wake was consumed by the nested block_on"
    );
}
