//! Multishot receive into provided buffers: 8 MiB arrive intact through a ring of eight 1 KiB
//! buffers, including while the reader holds every buffer (`ENOBUFS` back-pressure, not an
//! error or end of stream); end of stream is reported; dropping the stream mid-flight leaves no
//! op behind; and the same works on a Unix stream.

mod common;

use common::{watchdog, Checksum, Rng};
use ringbolt_net::{BufRing, TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::Runtime;
use std::time::Duration;

const SIZE: usize = 8 * 1024 * 1024;

#[test]
fn tcp_multishot_recv_with_back_pressure() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(8, 1024).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let data = Rng::new(8).bytes(SIZE);
        let mut want = Checksum::default();
        want.update(&data);
        let writer = ringbolt_runtime::spawn(async move {
            let (res, _) = client.write_all(data).await;
            res.unwrap();
            client.close().await.unwrap();
        });

        let mut rs = server.recv_stream(&ring);
        let mut sum = Checksum::default();
        let (mut total, mut chunks) = (0usize, 0usize);
        let mut held = Vec::new();
        loop {
            let Some(buf) = rs.next().await.expect("recv_stream") else {
                break;
            };
            assert!(buf.len() <= 1024 && !buf.is_empty());
            total += buf.len();
            chunks += 1;
            held.push(buf);
            // Now and then hold every buffer of the ring for a while, starving the kernel.
            let hold = if chunks % 500 < 50 { 8 } else { 1 };
            if held.len() >= hold {
                if hold == 8 {
                    ringbolt_runtime::time::sleep(Duration::from_micros(200)).await;
                }
                for b in held.drain(..) {
                    sum.update(&b);
                }
            }
        }
        for b in held.drain(..) {
            sum.update(&b);
        }
        assert_eq!(total, SIZE);
        assert_eq!(sum.value(), want.value(), "data corrupted");
        assert!(rs.next().await.unwrap().is_none(), "EOF is sticky");
        writer.await.unwrap();
        drop(rs);
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
    });
}

#[test]
fn dropped_recv_stream_leaves_nothing_in_flight() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(16, 512).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let mut rs = b.recv_stream(&ring);
        let (res, _) = a.write_all(vec![1u8; 4096]).await;
        res.unwrap();
        let first = rs.next().await.unwrap().unwrap();
        assert!(first.iter().all(|&x| x == 1));
        // More completions are queued or in flight; drop everything.
        drop(rs);
        drop(first);
        for _ in 0..100 {
            if ringbolt_runtime::stats().ops_in_flight == 0 {
                break;
            }
            ringbolt_runtime::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
        // Buffers came back: a new stream on the same ring receives again.
        let mut rs = b.recv_stream(&ring);
        let (res, _) = a.write_all(b"again".to_vec()).await;
        res.unwrap();
        let mut got = Vec::new();
        while got.len() < 4096 - 512 + 5 {
            let buf = rs.next().await.unwrap().unwrap();
            got.extend_from_slice(&buf);
            if got.ends_with(b"again") {
                break;
            }
        }
        assert!(got.ends_with(b"again"));
        drop(a);
        while let Some(buf) = rs.next().await.unwrap() {
            drop(buf);
        }
    });
}
