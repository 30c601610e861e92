//! `JoinSet`: results come out as tasks finish, panics and aborts come out as `JoinError`,
//! `join_next` is cancel-safe, `shutdown` empties the set.

use ringbolt_runtime::task::JoinSet;
use ringbolt_runtime::time::{sleep, timeout};
use ringbolt_runtime::Runtime;
use std::future::Future;
use std::time::Duration;

fn run<F: Future>(f: F) -> F::Output {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        timeout(Duration::from_secs(30), f)
            .await
            .expect("test deadlocked")
    })
}

#[test]
fn results_in_finish_order() {
    run(async {
        let mut set = JoinSet::new();
        assert!(set.join_next().await.is_none(), "empty set");
        for ms in [40u64, 0, 20, 10, 30] {
            set.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            });
        }
        assert_eq!(set.len(), 5);
        let mut order = Vec::new();
        while let Some(r) = set.join_next().await {
            order.push(r.expect("finished"));
        }
        assert_eq!(order, [0, 10, 20, 30, 40]);
        assert!(set.is_empty());
    });
}

#[test]
fn panics_and_aborts_are_errors() {
    run(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("child panicked on purpose") });
        let r = set.join_next().await.expect("one task");
        let err = r.expect_err("panic is an error");
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("child panicked on purpose"));

        set.spawn(async {
            sleep(Duration::from_secs(60)).await;
            1
        });
        set.abort_all();
        let err = set
            .join_next()
            .await
            .expect("one task")
            .expect_err("aborted");
        assert!(err.is_cancelled());
    });
}

#[test]
fn join_next_is_cancel_safe() {
    run(async {
        let mut set = JoinSet::new();
        for i in 0..10u32 {
            set.spawn(async move {
                sleep(Duration::from_millis(5 + u64::from(i))).await;
                i
            });
        }
        let mut got = Vec::new();
        let mut rounds = 0;
        while !set.is_empty() {
            rounds += 1;
            assert!(rounds < 10_000);
            // A timeout too short to see anything most of the time drops `join_next` futures.
            if let Ok(Some(r)) = timeout(Duration::from_micros(300), set.join_next()).await {
                got.push(r.expect("finished"));
            }
        }
        got.sort_unstable();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert!(set.try_join_next().is_none());
    });
}

#[test]
fn shutdown_and_join_all() {
    run(async {
        let mut set = JoinSet::new();
        for _ in 0..100 {
            set.spawn(sleep(Duration::from_secs(60)));
        }
        set.shutdown().await;
        assert!(set.is_empty());

        let mut set = JoinSet::new();
        for i in 0..5 {
            set.spawn(async move { i });
        }
        let mut all: Vec<i32> = set
            .join_all()
            .await
            .into_iter()
            .map(|r| r.expect("ok"))
            .collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4]);
    });
}
