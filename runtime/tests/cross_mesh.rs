//! `sync::cross::mesh`: each core joins once, can send to every core, and the receivers close
//! once every peer is gone.

mod common;

use ringbolt_runtime::sync::cross;
use ringbolt_runtime::Runtime;
use std::time::Duration;

#[test]
fn every_core_reaches_every_core() {
    const CORES: usize = 2;
    let _dog = common::watchdog("cross_mesh", Duration::from_secs(30));
    let mesh = cross::mesh::<(usize, usize)>(CORES, 4);
    assert_eq!(mesh.cores(), CORES);
    let got = Runtime::builder()
        .cores(CORES)
        .launch(|core| {
            let peer = mesh.join(core).expect("first join");
            assert!(mesh.join(core).is_none(), "second join of core {core}");
            async move {
                assert_eq!(peer.cores(), CORES);
                assert!(peer.sender(CORES).is_none());
                let (senders, mut rx) = peer.into_parts();
                for (to, tx) in senders.iter().enumerate() {
                    tx.send((core, to)).await.expect("peer alive");
                }
                drop(senders);
                let mut from = Vec::new();
                while let Some((src, dst)) = rx.recv().await {
                    assert_eq!(dst, core);
                    from.push(src);
                }
                from.sort_unstable();
                from
            }
        })
        .expect("launch");
    assert_eq!(got, vec![vec![0, 1], vec![0, 1]]);
    assert!(mesh.join(CORES).is_none());
}
