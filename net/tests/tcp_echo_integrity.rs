//! 256 concurrent connections × random message sizes (0..64 KiB) × 200 round trips, every
//! echoed byte verified. Server and clients run on two separate runtimes (threads).

mod common;

use common::{open_fds, serial, settle_fds, watchdog, Rng};
use ringbolt_net::{TcpListener, TcpStream};
use ringbolt_runtime::Runtime;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

const CONNS: usize = 256;
const ROUNDS: usize = 200;
const MAX_MSG: u64 = 64 * 1024;

async fn echo(stream: TcpStream) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let (res, b) = stream.read(buf).await;
        let n = res?;
        if n == 0 {
            return Ok(total);
        }
        let (res, b) = stream
            .write_all(ringbolt_runtime::buf::IoBuf::slice(b, ..n))
            .await;
        res?;
        buf = b.into_inner();
        total += n as u64;
    }
}

#[test]
fn echo_integrity_256_conns_random_sizes() {
    let _w = watchdog(Duration::from_secs(120));
    let _serial = serial();
    let baseline = open_fds();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();

    let server = std::thread::spawn(move || {
        let rt = Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener);
            let mut incoming = listener.incoming();
            let echoed = Rc::new(Cell::new(0u64));
            let mut handles = Vec::new();
            for _ in 0..CONNS {
                let stream = incoming.next().await.unwrap();
                let echoed = echoed.clone();
                handles.push(ringbolt_runtime::spawn(async move {
                    let n = echo(stream).await.unwrap();
                    echoed.set(echoed.get() + n);
                }));
            }
            drop(incoming);
            for h in handles {
                h.await.unwrap();
            }
            echoed.get()
        })
    });

    let rt = Runtime::new().unwrap();
    let sent = rt.block_on(async move {
        let mut handles = Vec::new();
        for c in 0..CONNS {
            handles.push(ringbolt_runtime::spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                let mut rng = Rng::new(c as u64 + 1);
                let mut sent = 0u64;
                let mut rbuf = Vec::with_capacity(MAX_MSG as usize);
                for round in 0..ROUNDS {
                    let len = rng.below(MAX_MSG) as usize;
                    let msg = rng.bytes(len);
                    let (res, msg) = stream.write_all(msg).await;
                    res.unwrap_or_else(|e| panic!("conn {c} round {round}: write: {e}"));
                    rbuf.clear();
                    let (res, b) = stream
                        .read_exact(ringbolt_runtime::buf::IoBuf::slice(rbuf, ..len))
                        .await;
                    res.unwrap_or_else(|e| panic!("conn {c} round {round}: read: {e}"));
                    rbuf = b.into_inner();
                    assert_eq!(rbuf.len(), len, "conn {c} round {round}: length");
                    assert!(rbuf == msg, "conn {c} round {round}: echoed bytes differ");
                    sent += len as u64;
                }
                stream.close().await.unwrap();
                sent
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
        total
    });
    drop(rt);
    let echoed = server.join().unwrap();
    assert_eq!(echoed, sent, "server echoed a different byte count");
    assert!(
        sent > (CONNS * ROUNDS) as u64 * MAX_MSG / 4,
        "messages too small: {sent}"
    );
    assert_eq!(
        settle_fds(baseline, Duration::from_secs(5)),
        baseline,
        "fd leak"
    );
}
