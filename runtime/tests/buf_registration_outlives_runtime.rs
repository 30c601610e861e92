//! A registration that outlives its runtime must never touch another ring when it goes.
//!
//! A `FixedBufPool` or `BufRing` keeps a weak handle to the driver that registered it; once
//! that runtime is dropped (its ring closed, the registration with it), dropping the pool or
//! ring inside another runtime must leave that runtime's own registrations alone, even when
//! they look the same (one buffer table per ring; the same buffer-group id).
mod common;

use common::watchdog;
use ringbolt_runtime::buf::fixed::FixedBufPool;
use ringbolt_runtime::buf::provided::BufRing;
use ringbolt_runtime::ops::net::RecvMulti;
use ringbolt_runtime::{Runtime, SharedFd};
use std::io::{ErrorKind, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

#[test]
fn fixed_pool_of_a_dropped_runtime_leaves_another_rings_table_alone() {
    let _wd = watchdog("fixed_pool_outlives_runtime", Duration::from_secs(30));
    let a = Runtime::new().unwrap();
    let pool_a = a.block_on(async { FixedBufPool::new(2, 4096) }).unwrap();
    drop(a);

    let b = Runtime::new().unwrap();
    b.block_on(async {
        let pool_b = FixedBufPool::new(2, 4096).unwrap();
        // Its runtime is gone: this must not unregister B's table.
        drop(pool_a);
        let err = FixedBufPool::new(2, 4096).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::ResourceBusy,
            "B's table is still registered: {err}"
        );
        // Once B's own pool goes, its table is unregistered and a new one can take its place.
        drop(pool_b);
        FixedBufPool::new(2, 4096).unwrap();
    });
}

#[test]
fn buf_ring_of_a_dropped_runtime_leaves_another_rings_group_alone() {
    let _wd = watchdog("buf_ring_outlives_runtime", Duration::from_secs(30));
    let a = Runtime::new().unwrap();
    let ring_a = a.block_on(async { BufRing::new(2, 64) }).unwrap();
    drop(a);

    let (ours, mut peer) = UnixStream::pair().unwrap();
    let fd = SharedFd::new(OwnedFd::from(ours));
    peer.write_all(b"still registered").unwrap();

    let b = Runtime::new().unwrap();
    let got = b.block_on(async {
        let ring_b = BufRing::new(4, 64).unwrap();
        assert_eq!(
            ring_a.bgid(),
            ring_b.bgid(),
            "each ring numbers its own groups"
        );
        // Its runtime is gone: this must not unregister B's group of the same id.
        drop(ring_a);
        let mut stream = RecvMulti::op(&fd, &ring_b);
        let item = ringbolt_runtime::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the first item arrives");
        item.unwrap().unwrap().unwrap().to_vec()
    });
    assert_eq!(got, b"still registered");
}
