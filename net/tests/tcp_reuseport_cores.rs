//! One listener per core on the same port (`SO_REUSEPORT`): the kernel spreads 200
//! connections over two cores, each core serves the ones it accepted, none is lost.

mod common;

use common::watchdog;
use ringbolt_net::TcpListener;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Duration;

const CONNS: usize = 200;

#[test]
fn connections_spread_over_cores() {
    let _w = watchdog(Duration::from_secs(60));
    let port = AtomicU16::new(0);
    let accepted = AtomicUsize::new(0);
    let bound = Barrier::new(3);
    std::thread::scope(|s| {
        let server = s.spawn(|| {
            ringbolt_runtime::Runtime::builder()
                .cores(2)
                .pin_threads(false)
                .launch(|core| {
                    let (port, accepted, bound) = (&port, &accepted, &bound);
                    async move {
                        let listener = if core == 0 {
                            let l = TcpListener::bind_reuseport("127.0.0.1:0").unwrap();
                            port.store(l.local_addr().unwrap().port(), Ordering::Release);
                            bound.wait();
                            l
                        } else {
                            bound.wait();
                            TcpListener::bind_reuseport(("127.0.0.1", port.load(Ordering::Acquire)))
                                .unwrap()
                        };
                        bound.wait(); // every core listens before any client connects
                        let mut incoming = listener.incoming();
                        let mut mine = 0;
                        while accepted.load(Ordering::Acquire) < CONNS {
                            let next = ringbolt_runtime::time::timeout(
                                Duration::from_millis(20),
                                incoming.next(),
                            );
                            let Ok(stream) = next.await else { continue };
                            let stream = stream.unwrap();
                            accepted.fetch_add(1, Ordering::AcqRel);
                            mine += 1;
                            ringbolt_runtime::spawn(async move {
                                // Each client sends 4 bytes (read_exact: a short read is legal).
                                let (res, buf) = stream.read_exact(vec![0u8; 4]).await;
                                res.unwrap();
                                let (res, _) = stream.write_all(buf).await;
                                res.unwrap();
                            });
                        }
                        // Let the last echoes finish.
                        ringbolt_runtime::time::sleep(Duration::from_millis(100)).await;
                        mine
                    }
                })
                .unwrap()
        });
        bound.wait();
        bound.wait();
        let addr = ("127.0.0.1", port.load(Ordering::Acquire));
        for i in 0..CONNS {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let msg = (i as u32).to_le_bytes();
            c.write_all(&msg).unwrap();
            let mut back = [0u8; 4];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, msg);
        }
        let per_core = server.join().unwrap();
        eprintln!("connections per core: {per_core:?}");
        assert_eq!(per_core.iter().sum::<usize>(), CONNS);
        assert!(
            per_core.iter().all(|&n| n > 0),
            "one core got nothing: {per_core:?}"
        );
    });
}
