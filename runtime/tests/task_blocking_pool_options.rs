//! The blocking pool's size and idle timeout come from the builder: with a limit of 2, six
//! sleeping jobs never run more than two at a time; with a 200 ms idle timeout, the pool's
//! threads are gone soon after the work ends (the default would keep them 10 s). One test
//! function: the pool is process-wide.

use ringbolt_runtime::task::spawn_blocking;
use ringbolt_runtime::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Live threads of the blocking pool, by name (`comm` holds the first 15 bytes).
fn pool_threads() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "ringbolt-blocki")
        .count()
}

#[test]
fn builder_sets_pool_size_and_idle_timeout() {
    let rt = Runtime::builder()
        .blocking_threads_max(2)
        .blocking_idle(Duration::from_millis(200))
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    rt.block_on(async {
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(100));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for j in jobs {
            j.await.expect("job");
        }
    });
    let took = start.elapsed();
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= 2, "{peak} jobs ran at once with a limit of 2");
    assert_eq!(peak, 2, "the pool never used its second thread");
    assert!(
        took >= Duration::from_millis(290),
        "six 100 ms jobs on two threads took only {took:?}"
    );
    // Idle threads exit after 200 ms; allow a wide margin on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool_threads() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        pool_threads(),
        0,
        "blocking threads still alive 5 s after the work ended (idle timeout 200 ms)"
    );
    drop(rt);
}
