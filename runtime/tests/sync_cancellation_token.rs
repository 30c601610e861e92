//! `sync::CancellationToken`: a parent cancels its subtree and not the reverse; 10,000 waiting
//! tasks all wake.

mod common;

use common::{run, yield_times};

use std::cell::Cell;
use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::CancellationToken;
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;

#[test]
fn cancelling_the_root_wakes_ten_thousand_tasks_on_children() {
    run(async {
        let root = CancellationToken::new();
        let woken = Rc::new(Cell::new(0usize));
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                // A mix of clones, children and grandchildren.
                let token = match i % 3 {
                    0 => root.clone(),
                    1 => root.child_token(),
                    _ => root.child_token().child_token(),
                };
                let woken = Rc::clone(&woken);
                spawn(async move {
                    token.cancelled().await;
                    woken.set(woken.get() + 1);
                })
            })
            .collect();
        yield_times(2).await;
        assert_eq!(woken.get(), 0);
        root.cancel();
        for handle in handles {
            handle.await.expect("task completes");
        }
        assert_eq!(woken.get(), TASKS);
    });
}

#[test]
fn cancelling_a_child_leaves_the_parent_and_siblings_alone() {
    run(async {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let sibling = parent.child_token();
        let grandchild = child.child_token();
        let parent_waiter = {
            let parent = parent.clone();
            spawn(async move { parent.cancelled().await })
        };
        child.cancel();
        assert!(child.is_cancelled() && grandchild.is_cancelled());
        assert!(!parent.is_cancelled() && !sibling.is_cancelled());
        yield_times(3).await;
        assert!(!parent_waiter.is_finished());
        parent.cancel();
        assert!(sibling.is_cancelled());
        parent_waiter.await.expect("task completes");
    });
}

#[test]
fn a_child_of_a_cancelled_token_is_born_cancelled() {
    run(async {
        let parent = CancellationToken::new();
        parent.cancel();
        let child = parent.child_token();
        assert!(child.is_cancelled());
        child.cancelled().await;
    });
}

#[test]
fn cancellation_reaches_grandchildren_after_the_middle_token_is_dropped() {
    run(async {
        let root = CancellationToken::new();
        let middle = root.child_token();
        let leaf = middle.child_token();
        drop(middle);
        root.cancel();
        assert!(leaf.is_cancelled());
    });
}

#[test]
fn dropped_cancelled_futures_and_children_do_not_disturb_the_rest() {
    run(async {
        let root = CancellationToken::new();
        let aborted: Vec<_> = (0..100)
            .map(|_| {
                let token = root.child_token();
                spawn(async move { token.cancelled().await })
            })
            .collect();
        let survivor = {
            let token = root.child_token();
            spawn(async move { token.cancelled().await })
        };
        yield_times(2).await;
        for handle in aborted {
            handle.abort();
            assert!(handle.await.expect_err("aborted").is_cancelled());
        }
        root.cancel();
        survivor.await.expect("task completes");
    });
}

#[test]
fn run_until_cancelled_and_drop_guard() {
    run(async {
        let token = CancellationToken::new();
        assert_eq!(token.run_until_cancelled(async { 5 }).await, Some(5));
        let stopper = {
            let token = token.clone();
            spawn(async move {
                yield_now().await;
                token.cancel();
            })
        };
        let never = std::future::pending::<()>();
        assert_eq!(token.run_until_cancelled(never).await, None);
        stopper.await.expect("task completes");

        let token = CancellationToken::new();
        let disarmed = token.clone().drop_guard().disarm();
        assert!(!disarmed.is_cancelled());
        drop(token.clone().drop_guard());
        assert!(token.is_cancelled());
    });
}
