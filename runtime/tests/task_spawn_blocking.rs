//! Blocking work runs off the core: the core keeps running tasks meanwhile, results and panics
//! come back through the handle.
use ringbolt_runtime::task::{spawn_blocking, yield_now};
use ringbolt_runtime::{spawn, Runtime};
use std::time::Duration;

#[test]
fn core_keeps_running_while_blocking_work_waits() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        // The blocking job waits until the core has ticked 5 times (or 10 s): it can only see
        // them if the core kept running while the job was pending. No timing margin involved.
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let t = ticks.clone();
        let ticker = spawn(async move {
            for _ in 0..20 {
                ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
                t.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let seen = ticks.clone();
        let (v, seen) = spawn_blocking(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while seen.load(std::sync::atomic::Ordering::SeqCst) < 5
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            (
                std::thread::current().name().map(str::to_owned),
                seen.load(std::sync::atomic::Ordering::SeqCst),
            )
        })
        .await
        .unwrap();
        assert_eq!(v.as_deref(), Some("ringbolt-blocking"));
        assert!(seen >= 5, "the core was blocked: only {seen} ticks");
        ticker.await.unwrap();
    });
}

#[test]
fn many_blocking_jobs_and_a_panic() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..200u64).map(|i| spawn_blocking(move || i * 2)).collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, 2 * 199 * 200 / 2);
        let e = spawn_blocking(|| panic!("boom")).await.unwrap_err();
        assert_eq!(e.panic_message(), Some("boom"));
        yield_now().await;
    });
}
