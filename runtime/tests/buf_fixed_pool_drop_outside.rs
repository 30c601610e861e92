//! A `FixedBufPool` dropped outside `block_on` must not leave its buffer table registered:
//! `PoolInner::drop` unregisters only when its core is the current one, so a pool that outlives
//! one `block_on` and is dropped afterwards (an ordinary pattern) leaves the table registered,
//! its pages pinned against `RLIMIT_MEMLOCK` until the ring closes, and every later
//! `FixedBufPool::new` on that runtime failing with `ResourceBusy` ("another FixedBufPool is
//! alive") although none is.
use ringbolt_runtime::buf::fixed::FixedBufPool;
use ringbolt_runtime::Runtime;

#[test]
fn pool_dropped_outside_block_on_can_be_replaced() {
    let rt = Runtime::new().unwrap();
    let pool = rt.block_on(async { FixedBufPool::new(2, 4096) }).unwrap();
    drop(pool); // outside block_on: no current core
    let again = rt.block_on(async { FixedBufPool::new(2, 4096).map(drop) });
    assert!(
        again.is_ok(),
        "a new pool could not be registered after the old one was dropped: {again:?}"
    );
}
