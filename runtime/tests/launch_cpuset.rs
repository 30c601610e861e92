//! `launch` with default pinning must pin to CPUs this process may run on.
//!
//! `Builder::launch` reads the allowed CPUs (`core_affinity::get_core_ids`) only to count them,
//! then pins core *i* to CPU *i*. Under `taskset` the cores are moved onto CPUs the user
//! excluded; under a cgroup cpuset without CPU 0 (common in containers) pinning fails, so
//! `launch` fails (and with more cores, hangs: see `review_launch_core_fails`).
use ringbolt_runtime::Runtime;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn default_pinning_uses_the_allowed_cpus() {
    let Some(ids) = core_affinity::get_core_ids() else {
        return;
    };
    if ids.len() < 2 {
        eprintln!("needs two CPUs; skipped");
        return;
    }
    let last = ids[ids.len() - 1];
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // This thread (and the core threads it starts) may run only on the last CPU.
        assert!(core_affinity::set_for_current(last));
        let r = Runtime::builder().cores(1).launch(|_core| async move {
            // SAFETY: sched_getcpu takes no arguments.
            unsafe { libc::sched_getcpu() }
        });
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    let r = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("launch hung");
    assert_eq!(
        r,
        Ok(vec![last.id as i32]),
        "one core, only CPU {} allowed: the core ran elsewhere",
        last.id
    );
}
