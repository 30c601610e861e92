//! Issue #13's third reproduction: dropping a `RecvStream` must keep the bytes its armed
//! multishot receive had already put into ring buffers. A header taken with `recv_stream` and
//! a body read with `read` afterwards see every byte once, in order (before the fix the
//! queued buffers went back to the ring with their bytes and the body read never saw them).

mod common;

use common::{watchdog, Rng};
use ringbolt_net::{BufRing, RecvStream, TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::io::AsyncReadOwned;
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::time::Duration;

const HEADER: usize = 16;
const BODY: usize = 200_000;

/// The streams under test.
trait Stream: AsyncReadOwned {
    fn recv_stream<'a>(&'a self, ring: &BufRing) -> RecvStream<'a>;
}

impl Stream for TcpStream {
    fn recv_stream<'a>(&'a self, ring: &BufRing) -> RecvStream<'a> {
        TcpStream::recv_stream(self, ring)
    }
}

impl Stream for UnixStream {
    fn recv_stream<'a>(&'a self, ring: &BufRing) -> RecvStream<'a> {
        UnixStream::recv_stream(self, ring)
    }
}

/// Takes the first chunk through `recv_stream` (the "header", plus whatever else came in that
/// buffer), lets more chunks queue, drops the stream, then reads the rest with `read`.
async fn header_then_body<S: Stream>(s: &mut S, ring: &BufRing) -> Vec<u8> {
    let mut got = Vec::new();
    let mut rs = s.recv_stream(ring);
    let first = rs.next().await.unwrap().expect("a first chunk");
    assert!(first.len() >= HEADER, "the header came whole");
    got.extend_from_slice(&first);
    drop(first);
    // More buffers fill and queue in the dropped stream's slot meanwhile.
    sleep(Duration::from_millis(20)).await;
    drop(rs);
    loop {
        let (res, buf) = s.read(Vec::with_capacity(64 * 1024)).await;
        let n = res.unwrap();
        if n == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

fn message() -> Vec<u8> {
    let mut m = b"LEN 200000 BODY\n".to_vec();
    assert_eq!(m.len(), HEADER);
    m.extend_from_slice(&Rng::new(1313).bytes(BODY));
    m
}

fn check(what: &str, sent: &[u8], got: &[u8]) {
    let lost = sent.len().saturating_sub(got.len());
    let first_diff = sent.iter().zip(got).position(|(a, b)| a != b);
    eprintln!(
        "{what}: {} of {} bytes, first difference at {first_diff:?}",
        got.len(),
        sent.len()
    );
    assert_eq!(lost, 0, "{what}: bytes lost");
    assert_eq!(got, sent, "{what}: bytes out of order");
}

#[test]
fn unix_read_after_dropped_recv_stream_sees_the_queued_bytes() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(64, 1024).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let msg = message();
        let sent = msg.clone();
        let writer = ringbolt_runtime::spawn(async move {
            let (res, _) = a.write_all(msg).await;
            res.unwrap();
            a.shutdown(std::net::Shutdown::Write).await.unwrap();
            a
        });
        let got = header_then_body(&mut b, &ring).await;
        drop(writer.await.unwrap());
        check("unix", &sent, &got);
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
    });
}

#[test]
fn tcp_read_after_dropped_recv_stream_sees_the_queued_bytes() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(64, 1024).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let msg = message();
        let sent = msg.clone();
        let writer = ringbolt_runtime::spawn(async move {
            let (res, _) = client.write_all(msg).await;
            res.unwrap();
            client.shutdown(std::net::Shutdown::Write).await.unwrap();
            client
        });
        let got = header_then_body(&mut server, &ring).await;
        drop(writer.await.unwrap());
        check("tcp", &sent, &got);
    });
}

/// A `read` that takes part of a kept chunk, then a new `recv_stream`: it hands out the rest
/// of that chunk (advanced past what the read took), then the following chunks.
#[test]
fn recv_stream_after_a_partial_read_resumes_mid_chunk() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(64, 1024).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let msg = message();
        let (res, _) = a.write_all(msg.clone()[..8 * 1024].to_vec()).await;
        res.unwrap();
        drop(a);
        let mut got = Vec::new();
        let mut rs = b.recv_stream(&ring);
        got.extend_from_slice(&rs.next().await.unwrap().unwrap());
        sleep(Duration::from_millis(20)).await;
        drop(rs);
        let (res, buf) = b.read(Vec::with_capacity(100)).await;
        assert!((1..=100).contains(&res.unwrap()), "a short read at most");
        got.extend_from_slice(&buf);
        let mut rs = b.recv_stream(&ring);
        while let Some(chunk) = rs.next().await.unwrap() {
            got.extend_from_slice(&chunk);
        }
        check("partial", &msg[..8 * 1024], &got);
    });
}
