//! 64 MiB of random data written at random offsets with 128 writes in flight, synced, read
//! back with 128 reads in flight: checksums equal.

mod common;

use common::{fnv1a, run, secs, seed, Rng, TempDir};
use ringbolt_fs::OpenOptions;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const TOTAL: usize = 64 << 20;
const BLOCK: usize = 64 << 10;
const BLOCKS: usize = TOTAL / BLOCK;
const IN_FLIGHT: usize = 128;

fn shuffled(rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..BLOCKS).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// Tracks how many ops this test has outstanding and the driver's in-flight count.
#[derive(Default)]
struct Peak {
    active: Cell<usize>,
    max_active: Cell<usize>,
    max_ring: Cell<usize>,
}

impl Peak {
    fn enter(&self) {
        self.active.set(self.active.get() + 1);
        self.max_active
            .set(self.max_active.get().max(self.active.get()));
    }
    fn leave(&self) {
        self.active.set(self.active.get() - 1);
        let ring = ringbolt_runtime::stats().ops_in_flight;
        self.max_ring.set(self.max_ring.get().max(ring));
    }
}

#[test]
fn random_offset_writes_read_back_identical_with_128_in_flight() {
    let dir = TempDir::new("roundtrip");
    let path = dir.join("data.bin");
    let mut rng = Rng::new(seed("round_trip"));
    let data = Rc::new(rng.bytes(TOTAL));
    let expected = fnv1a(&data);
    let write_order = shuffled(&mut rng);
    let read_order = shuffled(&mut rng);

    run(secs(120), async move {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .expect("create");
        let file = Rc::new(file);

        let queue = Rc::new(RefCell::new(write_order));
        let peak = Rc::new(Peak::default());
        let mut workers = Vec::new();
        for _ in 0..IN_FLIGHT {
            let (file, queue, data, peak) =
                (file.clone(), queue.clone(), data.clone(), peak.clone());
            workers.push(ringbolt_runtime::spawn(async move {
                loop {
                    let Some(i) = queue.borrow_mut().pop() else {
                        break;
                    };
                    let chunk = data[i * BLOCK..(i + 1) * BLOCK].to_vec();
                    peak.enter();
                    let (res, _) = file.write_all_at(chunk, (i * BLOCK) as u64).await;
                    peak.leave();
                    res.expect("write_all_at");
                }
            }));
        }
        for w in workers {
            w.await.expect("writer task");
        }
        assert_eq!(peak.max_active.get(), IN_FLIGHT, "writes in flight at once");
        eprintln!("writes: peak ring ops in flight {}", peak.max_ring.get());
        file.sync_all().await.expect("sync_all");
        assert_eq!(file.metadata().await.expect("metadata").len(), TOTAL as u64);

        let out = Rc::new(RefCell::new(vec![0u8; TOTAL]));
        let queue = Rc::new(RefCell::new(read_order));
        let peak = Rc::new(Peak::default());
        let mut workers = Vec::new();
        for _ in 0..IN_FLIGHT {
            let (file, queue, out, peak) = (file.clone(), queue.clone(), out.clone(), peak.clone());
            workers.push(ringbolt_runtime::spawn(async move {
                let mut buf = Vec::with_capacity(BLOCK);
                loop {
                    let Some(i) = queue.borrow_mut().pop() else {
                        break;
                    };
                    buf.clear();
                    peak.enter();
                    let (res, b) = file.read_exact_at(buf, (i * BLOCK) as u64).await;
                    peak.leave();
                    res.expect("read_exact_at");
                    out.borrow_mut()[i * BLOCK..(i + 1) * BLOCK].copy_from_slice(&b);
                    buf = b;
                }
            }));
        }
        for w in workers {
            w.await.expect("reader task");
        }
        assert_eq!(peak.max_active.get(), IN_FLIGHT, "reads in flight at once");
        eprintln!("reads: peak ring ops in flight {}", peak.max_ring.get());

        {
            let out = out.borrow();
            if let Some(pos) = out.iter().zip(data.iter()).position(|(a, b)| a != b) {
                panic!("first difference at byte {pos} (block {})", pos / BLOCK);
            }
            assert_eq!(fnv1a(&out), expected, "checksum");
        }
        Rc::try_unwrap(file)
            .expect("sole owner")
            .close()
            .await
            .expect("close");
    });
}
