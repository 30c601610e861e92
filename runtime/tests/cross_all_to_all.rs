//! `sync::cross`: two cores exchange 10,000,000 messages all-to-all over a mesh (each core
//! sends to both cores, itself included); every message arrives exactly once and in order per
//! sender. A watchdog aborts the test on a hang.

mod common;

use ringbolt_runtime::sync::cross;
use ringbolt_runtime::Runtime;
use std::time::{Duration, Instant};

const CORES: usize = 2;
/// Messages in total: 10,000,000 in release builds; a tenth in debug builds (10x slower).
const TOTAL: u64 = if cfg!(debug_assertions) {
    1_000_000
} else {
    10_000_000
};
const PER_PAIR: u64 = TOTAL / (CORES * CORES) as u64;

#[test]
fn all_to_all_exactly_once_in_order() {
    let _dog = common::watchdog("cross_all_to_all", Duration::from_secs(120));
    let mesh = cross::mesh::<(u32, u64)>(CORES, 1024);
    let start = Instant::now();
    let received = Runtime::builder()
        .cores(CORES)
        .launch(|core| {
            let peer = mesh.join(core).expect("each core joins once");
            async move {
                let (senders, mut rx) = peer.into_parts();
                let producer = ringbolt_runtime::spawn(async move {
                    // Interleave destinations so both channels fill at once.
                    for seq in 0..PER_PAIR {
                        for tx in &senders {
                            tx.send((core as u32, seq)).await.expect("receiver alive");
                        }
                    }
                });
                let mut next = [0u64; CORES];
                let mut count = 0u64;
                while let Some((from, seq)) = rx.recv().await {
                    let from = from as usize;
                    assert_eq!(
                        seq, next[from],
                        "core {core}: out of order from core {from}"
                    );
                    next[from] += 1;
                    count += 1;
                }
                producer.await.expect("producer finished");
                (count, next)
            }
        })
        .expect("launch");
    let elapsed = start.elapsed();
    for (core, (count, next)) in received.iter().enumerate() {
        assert_eq!(*count, PER_PAIR * CORES as u64, "core {core} received");
        assert_eq!(*next, [PER_PAIR; CORES], "core {core}: per-sender counts");
    }
    let total: u64 = received.iter().map(|(c, _)| c).sum();
    assert_eq!(total, TOTAL);
    eprintln!(
        "{TOTAL} messages in {elapsed:?} ({:.1} M msg/s)",
        TOTAL as f64 / elapsed.as_secs_f64() / 1e6
    );
}
