//! `sync::Barrier`: 10,000 tasks in groups, one leader per group, withdrawn arrivals.

mod common;

use common::{run, yield_times};

use std::cell::Cell;
use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::Barrier;

const TASKS: usize = 10_000;

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
