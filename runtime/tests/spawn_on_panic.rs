//! A panic in the closure given to `spawn_on` must come back through the `RemoteJoinHandle`
//! (pitfall 11), not unwind out of the target core's event loop.
//!
//! The closure runs as a job inside `Core::drain_remote`, called from `Core::turn`, with no
//! `catch_unwind`: its panic escapes `block_on` and takes the whole core (every task on it)
//! down. Under `launch`, any core can kill any other this way.
mod common;

use common::watchdog;
use ringbolt_runtime::{spawn_on, Runtime};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

#[test]
fn panic_in_spawn_on_closure_is_reported_not_propagated() {
    let _wd = watchdog("review_spawn_on_panic", Duration::from_secs(30));
    let rt = Runtime::new().unwrap();
    let out = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let h = spawn_on(0, || {
                if core_id_is_zero() {
                    panic!("boom in the spawn_on closure");
                }
                async { 1u32 }
            });
            h.await
        })
    }));
    let Ok(joined) = out else {
        panic!("the closure's panic unwound out of Runtime::block_on and stopped the core");
    };
    let err = joined.expect_err("the closure panicked: the handle must report it");
    assert!(err.is_panic(), "expected a panic JoinError, got {err:?}");
}

fn core_id_is_zero() -> bool {
    ringbolt_runtime::core_id() == 0
}
