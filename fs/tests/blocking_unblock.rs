//! `blocking::unblock`: results come back, panics propagate, the core keeps running, and the
//! helper pool stays small.

mod common;

use common::{run, secs};
use ringbolt_fs::blocking::{unblock, MAX_BLOCKING_THREADS};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn helper_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim_end() == "ringbolt-blocki")
        })
        .count()
}

#[test]
fn unblock_runs_off_the_core() {
    run(secs(30), async {
        assert_eq!(unblock(|| 6 * 7).await, 42);
        let tid = unblock(|| std::thread::current().name().map(str::to_owned)).await;
        assert_eq!(tid.as_deref(), Some("ringbolt-blocking"));

        // The core keeps running timers while a helper blocks.
        let slow =
            ringbolt_runtime::spawn(unblock(|| std::thread::sleep(Duration::from_millis(300))));
        let t = Instant::now();
        ringbolt_runtime::time::sleep(Duration::from_millis(10)).await;
        assert!(
            t.elapsed() < Duration::from_millis(250),
            "core was blocked: {:?}",
            t.elapsed()
        );
        slow.await.expect("slow job");

        // Many jobs: all finish, in parallel, on a bounded number of threads.
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let jobs: Vec<_> = (0..32u64)
            .map(|i| {
                ringbolt_runtime::spawn(unblock(move || {
                    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                    PEAK.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    RUNNING.fetch_sub(1, Ordering::SeqCst);
                    i
                }))
            })
            .collect();
        let peak = helper_threads();
        let mut sum = 0;
        for j in jobs {
            sum += j.await.expect("job");
        }
        assert_eq!(sum, (0..32).sum::<u64>());
        assert!(peak <= MAX_BLOCKING_THREADS, "{peak} helper threads");
        let parallel = PEAK.load(Ordering::SeqCst);
        assert!(
            parallel >= 2,
            "jobs ran one at a time (peak concurrency {parallel})"
        );

        // A panic in the job reaches the awaiting task.
        let h = ringbolt_runtime::spawn(unblock(|| panic!("boom in helper")));
        let err = h.await.expect_err("panic propagates");
        assert!(err.is_panic());
        assert_eq!(unblock(|| "still works").await, "still works");
    });
}
