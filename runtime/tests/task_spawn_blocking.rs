//! Blocking work runs off the core: the core keeps running tasks meanwhile, results and panics
//! come back through the handle.
use ringbolt_runtime::task::{spawn_blocking, yield_now};
use ringbolt_runtime::{spawn, Runtime};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn core_keeps_running_while_blocking_work_waits() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = spawn(async move {
            for _ in 0..20 {
                ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
                t.set(t.get() + 1);
            }
        });
        let v = spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(200));
            std::thread::current().name().map(str::to_owned)
        })
        .await
        .unwrap();
        assert_eq!(v.as_deref(), Some("ringbolt-blocking"));
        assert!(
            ticks.get() >= 5,
            "the core was blocked: only {} ticks",
            ticks.get()
        );
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
