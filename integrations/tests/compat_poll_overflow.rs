//! Pitfall 18: a multishot `POLL_ADD` ends when the kernel cannot post its CQE (completion
//! queue overflow). On a ring with a 4-entry CQ, 64 readiness streams get data at once, round
//! after round; every stream must still see all of its bytes (the ended polls are re-armed), and
//! the run must really have overflowed the CQ.

#[path = "../../net/tests/common/mod.rs"]
mod common;

use common::watchdog;
use ringbolt::net::TcpListener;
use std::io::Write;
use std::time::Duration;
use tokio::io::AsyncReadExt;

const CONNS: usize = 64;
const ROUNDS: usize = 20;
const CHUNK: usize = 100;

#[test]
fn readiness_survives_cq_overflow() {
    if common::uring_only("completion-queue overflow") {
        return;
    }
    let _w = watchdog(Duration::from_secs(60));
    let rt = ringbolt::Builder::new()
        .entries(2)
        .cq_entries(4)
        .build()
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let mut conns: Vec<std::net::TcpStream> = (0..CONNS)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        for c in &conns {
            c.set_nodelay(true).unwrap();
        }
        go_rx.recv().unwrap();
        for round in 0..ROUNDS {
            for (i, c) in conns.iter_mut().enumerate() {
                c.write_all(&[(i + round) as u8; CHUNK]).unwrap();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        conns
    });
    let overflows = rt.block_on(async move {
        let listener = TcpListener::from_std(listener);
        let mut tasks = Vec::new();
        for _ in 0..CONNS {
            let (stream, _) = listener.accept().await.unwrap();
            tasks.push(ringbolt::spawn(async move {
                let mut io = stream.into_poll_io();
                let mut got = vec![0u8; ROUNDS * CHUNK];
                io.read_exact(&mut got).await.unwrap();
                got
            }));
        }
        // Let every reader arm its poll before the data comes.
        ringbolt::time::sleep(Duration::from_millis(20)).await;
        go_tx.send(()).unwrap();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        // Accept order need not match connect order: each stream's first byte names it.
        let mut seen = [false; CONNS];
        for got in results {
            let i = got[0] as usize;
            assert!(i < CONNS && !seen[i], "stream {i} twice");
            seen[i] = true;
            for round in 0..ROUNDS {
                let part = &got[round * CHUNK..(round + 1) * CHUNK];
                assert!(
                    part.iter().all(|&b| b == (i + round) as u8),
                    "stream {i} round {round}"
                );
            }
        }
        ringbolt::stats().cq_overflows
    });
    drop(writer.join().unwrap());
    assert!(
        overflows > 0,
        "the test did not overflow the CQ, so it proved nothing"
    );
}
