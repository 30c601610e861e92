//! `read_timeout`: cancel with the buffer back. 10,000 timed-out reads on idle TCP and Unix
//! sockets each return the very buffer they were given (checked by pointer) with `TimedOut`,
//! and leave nothing in flight; data that is there (or arrives in time) wins.

mod common;

use common::watchdog;
use ringbolt_net::{TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::Runtime;
use std::io::ErrorKind;
use std::time::Duration;

const SOCKETS: usize = 50;
const READS_PER_SOCKET: usize = 200;

/// `READS_PER_SOCKET` timed-out reads, reusing one buffer; returns how many came back whole.
async fn time_out_reads<F, Fut>(read_timeout: F) -> usize
where
    F: Fn(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = (std::io::Result<usize>, Vec<u8>)>,
{
    let mut buf = Vec::with_capacity(4096);
    let ptr = buf.as_ptr();
    let mut back = 0;
    for _ in 0..READS_PER_SOCKET {
        let (res, b) = read_timeout(buf).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::TimedOut);
        assert_eq!(b.as_ptr(), ptr, "the same allocation comes back");
        assert_eq!(b.capacity(), 4096);
        back += 1;
        buf = b;
    }
    back
}

#[test]
fn ten_thousand_timed_out_reads_return_every_buffer() {
    let _w = watchdog(Duration::from_secs(120));
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = Vec::new();
        let mut keep = Vec::new();
        for i in 0..SOCKETS {
            // Half TCP, half Unix; the peers stay open and silent.
            if i % 2 == 0 {
                let client = TcpStream::connect(addr).await.unwrap();
                let (server, _) = listener.accept().await.unwrap();
                keep.push(Box::new(client) as Box<dyn std::any::Any>);
                tasks.push(ringbolt_runtime::spawn(async move {
                    let d = Duration::from_millis(1);
                    time_out_reads(|b| server.read_timeout(b, d)).await
                }));
            } else {
                let (a, b) = UnixStream::pair().unwrap();
                keep.push(Box::new(b));
                tasks.push(ringbolt_runtime::spawn(async move {
                    let d = Duration::from_millis(1);
                    time_out_reads(|b| a.read_timeout(b, d)).await
                }));
            }
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert_eq!(total, SOCKETS * READS_PER_SOCKET);
        assert_eq!(total, 10_000);
        assert_eq!(
            ringbolt_runtime::stats().ops_in_flight,
            0,
            "a read left in flight"
        );
        drop(keep);
    });
}

#[test]
fn data_wins_over_the_timeout() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        // Already there.
        let (res, _) = b.write_all(b"early".to_vec()).await;
        res.unwrap();
        let (res, buf) = a.read_timeout(Vec::with_capacity(16), Duration::ZERO).await;
        let n = res.unwrap();
        assert_eq!(&buf[..], &b"early"[..n]);
        // The rest of it, if the read was short (fault injection shortens reads).
        let mut buf = read_rest(&a, buf, 5 - n).await;
        assert_eq!(&buf[..], b"early");
        // Arrives before the deadline.
        let writer = ringbolt_runtime::spawn(async move {
            ringbolt_runtime::time::sleep(Duration::from_millis(5)).await;
            let (res, _) = b.write_all(b"in time".to_vec()).await;
            res.unwrap();
            b
        });
        buf.clear();
        let buf = read_rest(&a, buf, 7).await;
        assert_eq!(&buf[..], b"in time");
        // End of stream is not a timeout.
        drop(writer.await.unwrap());
        let (res, _) = a.read_timeout(buf, Duration::from_secs(10)).await;
        assert_eq!(res.unwrap(), 0);
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
    });
}

/// `n` more bytes through `read_timeout` (10 s each), appended to `buf`'s bytes.
async fn read_rest(s: &UnixStream, buf: Vec<u8>, n: usize) -> Vec<u8> {
    let mut got = buf;
    let want = got.len() + n;
    while got.len() < want {
        let (res, b) = s
            .read_timeout(
                Vec::with_capacity(want - got.len()),
                Duration::from_secs(10),
            )
            .await;
        let k = res.unwrap();
        assert!(k > 0, "early end of stream");
        got.extend_from_slice(&b[..k]);
    }
    got
}

#[test]
fn read_timeout_after_a_dropped_read_returns_its_bytes_first() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (res, _) = b.write_all(b"kept".to_vec()).await;
        res.unwrap();
        // A read that completes, dropped by the timeout before it is polled again.
        let lost = ringbolt_runtime::time::timeout(Duration::ZERO, a.read(vec![0u8; 64])).await;
        if let Ok((res, buf)) = lost {
            // The read won outright: nothing was dropped.
            let n = res.unwrap();
            let got = read_rest(&a, buf[..n].to_vec(), 4 - n).await;
            assert_eq!(&got[..], b"kept");
            return;
        }
        let got = read_rest(&a, Vec::new(), 4).await;
        assert_eq!(&got[..], b"kept");
    });
}
