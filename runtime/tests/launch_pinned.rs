//! The multi-core launcher: each core sees its own id and runs on the CPU it was pinned to;
//! spawn_on runs work on another core.
use ringbolt_runtime::{core_id, spawn_on, Runtime};

fn current_cpu() -> i32 {
    // SAFETY: sched_getcpu has no preconditions.
    unsafe { libc::sched_getcpu() }
}

#[test]
fn two_pinned_cores() {
    let cpus = core_affinity::get_core_ids().unwrap_or_default().len();
    if cpus < 2 {
        eprintln!("skipped: needs 2 CPUs, this machine has {cpus}");
        return;
    }
    let out = Runtime::builder()
        .cores(2)
        .launch(|core| async move {
            let mut cpu_seen = Vec::new();
            for _ in 0..20 {
                cpu_seen.push(current_cpu());
                ringbolt_runtime::task::yield_now().await;
            }
            (core, core_id(), cpu_seen)
        })
        .unwrap();
    for (i, (core, id, seen)) in out.into_iter().enumerate() {
        assert_eq!(core, i);
        assert_eq!(id, i);
        assert!(
            seen.iter().all(|&c| c == i as i32),
            "core {i} ran on {seen:?}"
        );
    }
}

#[test]
fn spawn_on_other_core_and_back() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let finished = AtomicUsize::new(0);
    let finished = &finished;
    let out = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| async move {
            let other = 1 - core;
            let mut sum = 0;
            for i in 0..1000usize {
                let h = spawn_on(other, move || async move { core_id() * 1_000_000 + i });
                sum += h.await.unwrap() - other * 1_000_000;
            }
            // Keep serving the other core's requests until it is done too.
            finished.fetch_add(1, Ordering::AcqRel);
            while finished.load(Ordering::Acquire) < 2 {
                ringbolt_runtime::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            sum
        })
        .unwrap();
    assert_eq!(out, vec![499_500, 499_500]);
}

#[test]
fn spawn_on_handle_of_a_shut_down_core_is_cancelled_not_hung() {
    // The handle is Send: take it out of the launch, whose runtimes then shut down with the
    // task still pending on core 1.
    let mut out = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| async move {
            if core == 0 {
                let h = spawn_on(1, std::future::pending::<u32>);
                ringbolt_runtime::task::yield_now().await;
                Some(h)
            } else {
                None
            }
        })
        .unwrap();
    let h = out[0].take().unwrap();
    let rt = Runtime::new().unwrap();
    let r = rt.block_on(h);
    assert!(r.unwrap_err().is_cancelled());
}

#[test]
fn finished_cores_keep_serving_until_all_are_done() {
    let out = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| async move {
            if core == 1 {
                return 0; // done at once, but still serves core 0
            }
            ringbolt_runtime::time::sleep(std::time::Duration::from_millis(50)).await;
            spawn_on(1, || async { core_id() + 10 }).await.unwrap()
        })
        .unwrap();
    assert_eq!(out, vec![11, 0]);
}

#[test]
fn launch_reports_a_panicking_core() {
    let err = Runtime::builder()
        .cores(2)
        .pin_threads(false)
        .launch(|core| async move {
            if core == 1 {
                panic!("core one fails");
            }
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("core 1 panicked: core one fails"),
        "{err}"
    );
}
