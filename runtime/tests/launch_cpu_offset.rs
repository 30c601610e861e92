//! `Builder::cpu_offset` moves a service's cores off the first allowed CPUs, so two services
//! on one host need not share CPU 0; an offset that leaves too few CPUs fails with a clear
//! error instead of pinning elsewhere.
use ringbolt_runtime::Runtime;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on a thread and fails the test if it takes more than 20 s.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("launch hung")
}

#[test]
fn offset_pins_to_the_next_allowed_cpu() {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    if ids.len() < 2 {
        eprintln!("needs two CPUs; skipped");
        return;
    }
    let want = ids[1].id as i32;
    let seen = bounded(|| {
        Runtime::builder()
            .cores(1)
            .cpu_offset(1)
            .launch(|_| async {
                let mut seen = Vec::new();
                for _ in 0..10 {
                    // SAFETY: sched_getcpu takes no arguments.
                    seen.push(unsafe { libc::sched_getcpu() });
                    ringbolt_runtime::task::yield_now().await;
                }
                seen
            })
            .map_err(|e| e.to_string())
    });
    let seen = seen.expect("launch").remove(0);
    assert!(
        seen.iter().all(|&c| c == want),
        "core 0 with cpu_offset(1) ran on {seen:?}, expected CPU {want} only"
    );
}

#[test]
fn offset_past_the_cpu_set_fails_clearly() {
    let n = core_affinity::get_core_ids().unwrap_or_default().len();
    if n == 0 {
        eprintln!("cannot read the CPU set; skipped");
        return;
    }
    let err = bounded(move || {
        Runtime::builder()
            .cores(1)
            .cpu_offset(n)
            .pin_threads(true)
            .launch(|_| async {})
            .map(|_| ())
    })
    .expect_err("an offset past every allowed CPU must fail");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("cpu_offset"),
        "the error should name the offset: {err}"
    );
}

#[test]
fn explicit_cpus_ignore_the_offset() {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let Some(first) = ids.first().copied() else {
        return;
    };
    let cpu = bounded(move || {
        Runtime::builder()
            .cores(1)
            .cpu_offset(1000)
            .cpus(vec![first.id])
            // SAFETY: sched_getcpu takes no arguments.
            .launch(|_| async { unsafe { libc::sched_getcpu() } })
            .map_err(|e| e.to_string())
    });
    assert_eq!(cpu, Ok(vec![first.id as i32]));
}
