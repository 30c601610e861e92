//! `TaskTracker`: waiting on core 1 for tasks tracked on both cores completes only once the
//! tracker is closed and the last of them has finished.

mod common;

use ringbolt_runtime::shutdown::TaskTracker;
use ringbolt_runtime::task::{select, Either};
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn wait_covers_tasks_on_every_core() {
    let _dog = common::watchdog("task_tracker", Duration::from_secs(60));
    let tracker = TaskTracker::new();
    let done = Arc::new(AtomicUsize::new(0));
    let out = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| {
            let tracker = tracker.clone();
            let done = done.clone();
            async move {
                if core != 1 {
                    return (0, false, 0);
                }
                for i in 0..8u64 {
                    let done = done.clone();
                    // Half on core 0, half here; the later ones take longer.
                    tracker.spawn_on((i % 2) as usize, move || async move {
                        sleep(Duration::from_millis(10 + 10 * i)).await;
                        done.fetch_add(1, Ordering::SeqCst);
                    });
                }
                let token = tracker.token(); // work outside a task, e.g. a blocking job
                let len = tracker.len();
                // Not closed yet: wait does not complete even once the tasks are done.
                let early = match select(tracker.wait(), sleep(Duration::from_millis(200))).await {
                    Either::Left(()) => true,
                    Either::Right(()) => false,
                };
                tracker.close();
                drop(token);
                tracker.wait().await;
                (len, early, done.load(Ordering::SeqCst))
            }
        })
        .expect("launch");
    let (len, early, finished) = out[1];
    assert_eq!(len, 9, "8 tasks and a token were tracked");
    assert!(!early, "wait completed before close");
    assert_eq!(
        finished, 8,
        "wait returned before every tracked task finished"
    );
    assert!(tracker.is_empty() && tracker.is_closed());
    // Reopened, a new task keeps wait pending again.
    assert!(tracker.reopen());
    let token = tracker.token();
    tracker.close();
    Runtime::new().unwrap().block_on(async {
        let r = select(tracker.wait(), sleep(Duration::from_millis(50))).await;
        assert!(r.is_right(), "a live token holds wait");
        drop(token);
        tracker.wait().await;
    });
}
