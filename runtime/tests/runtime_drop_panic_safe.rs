//! `Runtime::drop` runs its whole shutdown whatever panics on the way (pitfall 17).
//!
//! The old drop let a panic from user drop code (a queued `spawn_on` job's closure, a buffer
//! released by a late CQE) unwind out of it before `Driver::shutdown` had reaped the in-flight
//! ops: the ring closed and the slab freed op states the kernel had not finished with.
//! Here an in-flight read's buffer records, when it is dropped, whether a ring was still open
//! (its op reaped by shutdown) — it must never be freed after the ring closed without its
//! final CQE.
mod common;

use common::{pipe, watchdog};
use ringbolt_runtime::buf::{IoBuf, IoBufMut};
use ringbolt_runtime::ops::Read;
use ringbolt_runtime::Runtime;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// io_uring fds this process has open.
fn rings_open() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|l| l.to_string_lossy().contains("io_uring"))
        .count()
}

/// usize::MAX until the probe buffer is dropped, then the rings open at that moment.
static RINGS_AT_DROP: AtomicUsize = AtomicUsize::new(usize::MAX);

struct Probe(Vec<u8>);

impl Drop for Probe {
    fn drop(&mut self) {
        RINGS_AT_DROP.store(rings_open(), Ordering::SeqCst);
    }
}

// SAFETY: delegates to the Vec, whose heap block is stable while the Probe moves.
unsafe impl IoBuf for Probe {
    fn stable_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.0.len()
    }
    fn bytes_total(&self) -> usize {
        self.0.capacity()
    }
}

// SAFETY: as above.
unsafe impl IoBufMut for Probe {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.set_init(pos) }
    }
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("PanicOnDrop");
    }
}

#[test]
fn panicking_job_drop_during_shutdown_still_reaps_every_op() {
    if common::uring_only("counting io_uring fds") {
        return;
    }
    let _wd = watchdog("runtime_drop_panic_safe", Duration::from_secs(30));
    assert_eq!(
        rings_open(),
        0,
        "this test needs a process with no other ring"
    );
    let rt = Runtime::new().unwrap();
    let (rd, _wr) = pipe();
    rt.block_on(async {
        // A read that never completes on its own, in a task the shutdown drops.
        ringbolt_runtime::spawn(async move {
            let _ = Read::op(&rd, Probe(Vec::with_capacity(4096)), u64::MAX).await;
        });
        ringbolt_runtime::task::yield_now().await;
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 1);
        // A job queued for this core that never runs: the shutdown drops its closure.
        let p = PanicOnDrop;
        drop(ringbolt_runtime::spawn_on(0, move || {
            let _keep = &p;
            async {}
        }));
    });
    let res = catch_unwind(AssertUnwindSafe(move || drop(rt)));
    assert!(
        res.is_err(),
        "the job's panic is raised once shutdown is over"
    );
    let at_drop = RINGS_AT_DROP.load(Ordering::SeqCst);
    assert!(
        at_drop == usize::MAX || at_drop >= 1,
        "the in-flight read's buffer was freed after the ring closed, without its final CQE"
    );
    assert_eq!(
        at_drop, 1,
        "shutdown reaped the read and released its buffer"
    );
    assert_eq!(rings_open(), 0, "the ring is closed");
}
