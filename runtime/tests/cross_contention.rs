//! `sync::cross`: 10,000 sender tasks (5,000 per core) contend for small channels to the other
//! core; every message arrives exactly once and in order per sender, and back-pressure holds
//! thousands of waiting senders.

mod common;

use ringbolt_runtime::sync::cross;
use ringbolt_runtime::Runtime;
use std::time::Duration;

const CORES: usize = 2;
const TASKS_PER_CORE: u32 = 5_000;
const PER_TASK: u32 = 20;
const CAPACITY: usize = 64;

#[test]
fn ten_thousand_senders() {
    let _dog = common::watchdog("cross_contention", Duration::from_secs(60));
    let mesh = cross::mesh::<(u32, u32)>(CORES, CAPACITY);
    let out = Runtime::builder()
        .cores(CORES)
        .launch(|core| {
            let peer = mesh.join(core).expect("join");
            async move {
                let (senders, mut rx) = peer.into_parts();
                let to = senders[1 - core].clone();
                drop(senders);
                for t in 0..TASKS_PER_CORE {
                    let to = to.clone();
                    let id = core as u32 * TASKS_PER_CORE + t;
                    ringbolt_runtime::spawn(async move {
                        for seq in 0..PER_TASK {
                            to.send((id, seq)).await.expect("receiver alive");
                        }
                    });
                }
                drop(to);
                let mut next = vec![0u32; (CORES as u32 * TASKS_PER_CORE) as usize];
                let mut count = 0u64;
                let mut max_in_flight = 0;
                while let Some((id, seq)) = rx.recv().await {
                    max_in_flight = max_in_flight.max(rx.len());
                    assert_eq!(seq, next[id as usize], "sender {id} out of order");
                    next[id as usize] += 1;
                    count += 1;
                }
                let from_other = (1 - core) as u32 * TASKS_PER_CORE;
                let all_done = next[from_other as usize..(from_other + TASKS_PER_CORE) as usize]
                    .iter()
                    .all(|&n| n == PER_TASK);
                (count, all_done, max_in_flight)
            }
        })
        .expect("launch");
    for (core, (count, all_done, max_in_flight)) in out.into_iter().enumerate() {
        assert_eq!(count, u64::from(TASKS_PER_CORE * PER_TASK), "core {core}");
        assert!(all_done, "core {core}: every sender delivered everything");
        assert!(
            max_in_flight <= CAPACITY,
            "core {core}: {max_in_flight} in flight"
        );
    }
}
