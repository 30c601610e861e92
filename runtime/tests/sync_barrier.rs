//! `sync::Barrier`: 10,000 tasks in groups, one leader per group, withdrawn arrivals.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use ringbolt_runtime::sync::Barrier;
use ringbolt_runtime::task::yield_now;
use ringbolt_runtime::{spawn, Runtime};

const TASKS: usize = 10_000;

/// Runs `test` as a task on a fresh runtime; a deadlock fails the test instead of hanging it.
///
/// As a spawned task, the test's `yield_now` lets every other ready task run first.
fn run<F: Future<Output = ()> + 'static>(test: F) {
    let rt = Runtime::new().expect("io_uring runtime");
    rt.block_on(async {
        let test = spawn(test);
        match ringbolt_runtime::time::timeout(Duration::from_secs(60), test).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Ok(Err(err)) => panic!("test task failed: {err}"),
            Err(_) => panic!("test deadlocked"),
        }
    })
}

async fn yield_times(n: usize) {
    for _ in 0..n {
        yield_now().await;
    }
}

#[test]
fn ten_thousand_tasks_pass_in_groups_with_one_leader_each() {
    const GROUP: usize = 100;
    run(async {
        let barrier = Rc::new(Barrier::new(GROUP));
        let arrived = Rc::new(Cell::new(0usize));
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let (barrier, arrived) = (Rc::clone(&barrier), Rc::clone(&arrived));
                spawn(async move {
                    arrived.set(arrived.get() + 1);
                    let result = barrier.wait().await;
                    // Nobody leaves before its whole group has arrived.
                    assert!(arrived.get() % GROUP == 0 || arrived.get() == TASKS);
                    result.is_leader()
                })
            })
            .collect();
        let mut leaders = 0;
        for handle in handles {
            leaders += usize::from(handle.await.expect("task completes"));
        }
        assert_eq!(leaders, TASKS / GROUP);
    });
}

#[test]
fn the_group_waits_for_its_last_member() {
    run(async {
        let barrier = Rc::new(Barrier::new(3));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let barrier = Rc::clone(&barrier);
                spawn(async move { barrier.wait().await.is_leader() })
            })
            .collect();
        yield_times(5).await;
        assert!(waiters.iter().all(|w| !w.is_finished()));
        assert!(barrier.wait().await.is_leader());
        for waiter in waiters {
            assert!(!waiter.await.expect("task completes"));
        }
    });
}

#[test]
fn an_aborted_waiter_no_longer_counts() {
    run(async {
        let barrier = Rc::new(Barrier::new(3));
        let waiter = || {
            let barrier = Rc::clone(&barrier);
            spawn(async move { barrier.wait().await.is_leader() })
        };
        let a = waiter();
        let b = waiter();
        yield_times(2).await;
        a.abort();
        assert!(a.await.expect_err("aborted").is_cancelled());
        let c = waiter();
        yield_times(3).await;
        assert!(
            !b.is_finished() && !c.is_finished(),
            "only two live tasks have arrived"
        );
        assert!(barrier.wait().await.is_leader());
        assert!(!b.await.expect("task completes"));
        assert!(!c.await.expect("task completes"));
    });
}

#[test]
fn a_barrier_of_zero_or_one_never_waits() {
    run(async {
        assert!(Barrier::new(0).wait().await.is_leader());
        let one = Barrier::new(1);
        assert!(one.wait().await.is_leader());
        assert!(one.wait().await.is_leader());
    });
}
