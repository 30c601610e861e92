//! `launch` must return an error when one core cannot start, not hang.
//!
//! A core thread that fails before `block_on` (pinning, ring setup) returns `Err` without
//! incrementing `finished`; every other core then waits in its "keep serving" loop for
//! `finished == n`, which never happens, and `thread::scope` never returns.
use ringbolt_runtime::Runtime;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn launch_with_an_unpinnable_core_returns_an_error() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Core 1 asks for a CPU this machine does not have, so its pinning fails.
        let r = Runtime::builder()
            .cores(2)
            .cpus(vec![0, 1000])
            .launch(|core| async move { core });
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(r) => assert!(
            r.is_err(),
            "launch should report the pinning failure, got {r:?}"
        ),
        Err(_) => panic!("launch hung for 10 s after core 1 failed to start"),
    }
}
