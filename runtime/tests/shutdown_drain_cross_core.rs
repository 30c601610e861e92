//! Graceful shutdown across cores: a shutdown triggered on core 1 cancels core 0's token, core
//! 0's tasks finish their work (drained), and a task that ignores cancellation is aborted at the
//! drain deadline and counted.

mod common;

use ringbolt_runtime::shutdown::Shutdown;
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DRAIN: Duration = Duration::from_millis(600);

/// Drops once its owning future is dropped (aborted) without having finished.
struct AbortProbe(Arc<AtomicUsize>, bool);

impl Drop for AbortProbe {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn trigger_on_core_1_drains_core_0_and_aborts_the_stubborn_task_at_the_deadline() {
    let _dog = common::watchdog("shutdown_drain_cross_core", Duration::from_secs(60));
    let shutdown = Shutdown::new();
    // Finished after seeing the cancellation (core 0's cooperative tasks).
    let finished_after_cancel = Arc::new(AtomicUsize::new(0));
    // Futures dropped before they finished (the stubborn task).
    let dropped_unfinished = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let triggered_at = std::sync::Mutex::new(None::<Instant>);
    let reports = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .drain_timeout(DRAIN)
        .launch_with_shutdown(&shutdown, |core, token| {
            let shutdown = shutdown.clone();
            let finished_after_cancel = finished_after_cancel.clone();
            let dropped_unfinished = dropped_unfinished.clone();
            let triggered_at = &triggered_at;
            async move {
                if core == 1 {
                    // Let core 0 start its tasks, then stop everything from here.
                    sleep(Duration::from_millis(100)).await;
                    *triggered_at.lock().unwrap() = Some(Instant::now());
                    shutdown.trigger();
                    token.cancelled().await;
                    return Ok::<_, std::io::Error>("core 1 stopped");
                }
                let served = Rc::new(AtomicUsize::new(0));
                // Three cooperative tasks: each finishes its "request" after the cancellation.
                for _ in 0..3 {
                    let token = token.clone();
                    let finished_after_cancel = finished_after_cancel.clone();
                    ringbolt_runtime::spawn(async move {
                        token.cancelled().await;
                        sleep(Duration::from_millis(20)).await; // finishing in-flight work
                        finished_after_cancel.fetch_add(1, Ordering::SeqCst);
                    });
                }
                // A task that ignores cancellation.
                ringbolt_runtime::spawn(async move {
                    let mut probe = AbortProbe(dropped_unfinished, false);
                    sleep(Duration::from_secs(3600)).await;
                    probe.1 = true;
                });
                // The "accept loop": runs until cancelled.
                while !token.is_cancelled() {
                    ringbolt_runtime::task::select(
                        sleep(Duration::from_millis(10)),
                        token.cancelled(),
                    )
                    .await;
                    served.fetch_add(1, Ordering::Relaxed);
                }
                Ok("core 0 stopped")
            }
        })
        .expect("launch");
    let elapsed = started.elapsed();
    let triggered = triggered_at.lock().unwrap().expect("core 1 triggered");

    assert!(shutdown.is_triggered());
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].output, Some("core 0 stopped"));
    assert_eq!(reports[1].output, Some("core 1 stopped"));
    assert_eq!(
        finished_after_cancel.load(Ordering::SeqCst),
        3,
        "every cooperative task on core 0 saw the cancellation and finished"
    );
    assert_eq!(
        dropped_unfinished.load(Ordering::SeqCst),
        1,
        "the stubborn task was aborted"
    );
    assert_eq!(
        (reports[0].tasks_drained, reports[0].tasks_aborted),
        (3, 1),
        "core 0: 3 drained, 1 aborted"
    );
    assert_eq!((reports[1].tasks_drained, reports[1].tasks_aborted), (0, 0));
    // The abort waits for the deadline, and not much longer.
    let since_trigger = triggered.elapsed();
    assert!(
        elapsed >= Duration::from_millis(100) + DRAIN - Duration::from_millis(5),
        "launch returned after {elapsed:?}, before the drain deadline"
    );
    assert!(
        since_trigger < DRAIN + Duration::from_secs(10),
        "launch returned {since_trigger:?} after the trigger, long after the deadline"
    );
}

#[test]
fn a_drained_core_returns_before_the_deadline() {
    let _dog = common::watchdog("shutdown_drain_fast", Duration::from_secs(60));
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    // Triggered from a plain thread.
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        trigger.trigger();
    });
    let started = Instant::now();
    let reports = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .drain_timeout(Duration::from_secs(30))
        .launch_with_shutdown(&shutdown, |core, token| async move {
            let t2 = token.clone();
            ringbolt_runtime::spawn(async move { t2.cancelled().await });
            token.cancelled().await;
            Ok(core)
        })
        .expect("launch");
    t.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "everything drained, yet launch waited {:?} (the deadline is 30 s)",
        started.elapsed()
    );
    for r in &reports {
        assert_eq!(r.output, Some(r.core));
        assert_eq!((r.tasks_drained, r.tasks_aborted), (1, 0));
    }
}

#[test]
fn the_future_itself_is_dropped_at_the_deadline() {
    let _dog = common::watchdog("shutdown_future_aborted", Duration::from_secs(60));
    let shutdown = Shutdown::new();
    shutdown.trigger(); // before launch: the cores start already shutting down
    let reports = Runtime::builder()
        .cores(1)
        .pin_threads(false)
        .drain_timeout(Duration::from_millis(100))
        .launch_with_shutdown(&shutdown, |_, _token| async move {
            sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .expect("launch");
    assert_eq!(reports[0].output, None, "the future ignored the token");
}
