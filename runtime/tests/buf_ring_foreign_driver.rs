//! A provided-buffer ring belongs to the ring that registered it.
//!
//! The old code put only the group id into a multishot receive's SQE, and group ids came from a
//! per-thread counter: a `BufRing` of runtime A used by a receive on runtime B named whatever
//! group B had under that id. The kernel then picked B's buffers and the completion's buffer id
//! was turned into a pointer into A's (smaller) ring: wrong data, or out of bounds.
mod common;

use common::watchdog;
use ringbolt_runtime::buf::provided::BufRing;
use ringbolt_runtime::ops::net::RecvMulti;
use ringbolt_runtime::{Runtime, SharedFd};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

#[test]
fn recv_multi_with_another_runtimes_buf_ring_is_refused() {
    let _wd = watchdog("buf_ring_foreign_driver", Duration::from_secs(30));
    let a = Runtime::new().unwrap();
    let b = Runtime::new().unwrap();
    // A small ring on A, and a bigger one on B under (very likely) the same group id.
    let ring_a = a.block_on(async { BufRing::new(2, 64) }).unwrap();
    let ring_b = b.block_on(async { BufRing::new(64, 64) }).unwrap();
    assert_eq!(
        ring_a.bgid(),
        ring_b.bgid(),
        "each ring numbers its own groups"
    );

    let (ours, mut peer) = UnixStream::pair().unwrap();
    let fd = SharedFd::new(OwnedFd::from(ours));
    // Fill B's buffers from the top so that a wrong pick would show as a large buffer id.
    peer.write_all(&[7u8; 64 * 8]).unwrap();
    let item = b.block_on(async {
        let mut stream = RecvMulti::op(&fd, &ring_a);
        ringbolt_runtime::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the first item arrives")
    });
    let err = match item {
        Some(Err(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("another"), "{err}");
    assert_eq!(
        b.stats().ops_in_flight,
        0,
        "the refused receive never reached the kernel"
    );

    // On its own runtime the same ring works.
    let got = a.block_on(async {
        let mut stream = RecvMulti::op(&fd, &ring_a);
        let buf = stream.next().await.unwrap().unwrap().unwrap();
        buf.to_vec()
    });
    assert!(!got.is_empty() && got.iter().all(|&b| b == 7));
    drop((ring_a, ring_b));
}

#[test]
fn group_ids_are_unique_per_ring_across_many_registrations() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        // Keep one ring alive while far more than 65,536 ids go by: no collision, no error.
        let keep = BufRing::new(1, 16).unwrap();
        let mut last = keep.bgid();
        for _ in 0..70_000u32 {
            let r = BufRing::new(1, 16).unwrap();
            assert_ne!(r.bgid(), keep.bgid());
            last = r.bgid();
        }
        let _ = last;
        drop(keep);
    });
}
