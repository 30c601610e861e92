//! A task whose future spawns a new task from its `Drop`, forever, must not make
//! `Runtime::drop` panic or hang.
//!
//! The old shutdown gave up after 64 rounds; the futures left were dropped later with no runtime
//! current, and the `spawn` in their `Drop` panicked out of `Runtime::drop`.
mod common;

use common::watchdog;
use ringbolt_runtime::Runtime;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

struct Respawn(Rc<Cell<u32>>);

impl Drop for Respawn {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
        let next = Respawn(self.0.clone());
        ringbolt_runtime::spawn(async move {
            let _keep = &next;
            std::future::pending::<()>().await;
        });
    }
}

#[test]
fn endless_spawn_from_drop_during_shutdown_ends_cleanly() {
    let _wd = watchdog("shutdown_spawn_in_drop", Duration::from_secs(30));
    let drops = Rc::new(Cell::new(0));
    let rt = Runtime::new().unwrap();
    let d = drops.clone();
    rt.block_on(async move {
        let first = Respawn(d);
        ringbolt_runtime::spawn(async move {
            let _keep = &first;
            std::future::pending::<()>().await;
        });
        ringbolt_runtime::task::yield_now().await;
    });
    let res = catch_unwind(AssertUnwindSafe(move || drop(rt)));
    assert!(res.is_ok(), "Runtime::drop panicked");
    let n = drops.get();
    assert!(n >= 64, "the chain ran during shutdown ({n} drops)");
    assert!(n < 10_000, "the chain was cut off ({n} drops)");
}
