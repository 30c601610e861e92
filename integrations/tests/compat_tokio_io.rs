//! The readiness path through `tokio::io` / `futures_io` traits (`ringbolt::net::compat::PollIo`):
//! tokio-util `Framed<LinesCodec>`, cancellation (a dropped read loses no bytes; dropped
//! waits leave no op in flight), a large byte-identical transfer, and the futures-io traits.

#[path = "../../net/tests/common/mod.rs"]
mod common;

use common::{watchdog, Rng};
use ringbolt::net::compat::PollIo;
use ringbolt::net::{TcpListener, TcpStream};
use ringbolt::Runtime;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connected pair of readiness streams on the current runtime.
async fn pair() -> (PollIo<TcpStream>, PollIo<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = ringbolt::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    let client = connect.await.unwrap();
    (client.into_poll_io(), server.into_poll_io())
}

#[test]
fn framed_lines_codec_round_trip() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_util::codec::{Framed, LinesCodec};
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let (client, server) = pair().await;
        let echo = ringbolt::spawn(async move {
            let mut framed = Framed::new(server, LinesCodec::new());
            let mut n = 0;
            while let Some(line) = framed.next().await {
                framed.send(line.unwrap().to_uppercase()).await.unwrap();
                n += 1;
            }
            n
        });
        let mut framed = Framed::new(client, LinesCodec::new());
        for i in 0..1000 {
            framed.send(format!("line {i} of the test")).await.unwrap();
            let back = framed.next().await.expect("a line back").unwrap();
            assert_eq!(back, format!("LINE {i} OF THE TEST"));
        }
        framed.into_inner().shutdown().await.unwrap();
        assert_eq!(echo.await.unwrap(), 1000);
    });
}

#[test]
fn dropped_read_loses_no_bytes() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let (mut client, mut server) = pair().await;
        let mut buf = [0u8; 64];
        // 1. A read that waits (nothing sent) and is dropped while its poll is armed.
        {
            let mut read = pin!(client.read(&mut buf));
            let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "nothing was sent yet");
        }
        // 2. Data arrives while nobody reads; the poll's CQE is reaped meanwhile.
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        server.write_all(&data).await.unwrap();
        ringbolt::time::sleep(Duration::from_millis(20)).await;
        // 3. Another read started and dropped after the data is there, before being polled
        //    again.
        {
            let mut read = pin!(client.read(&mut buf[..0]));
            let _ = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
        }
        // 4. Reading again returns every byte, in order.
        let mut got = vec![0u8; data.len()];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, data);
    });
}

#[test]
fn dropped_waits_leave_no_op_in_flight() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let (mut client, server) = pair().await;
        let baseline = ringbolt::stats().ops_in_flight;
        let mut buf = [0u8; 16];
        {
            let mut read = pin!(client.read(&mut buf));
            let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
            assert!(first.is_pending());
        }
        // The poll stays armed on the stream (it is readiness, reused by the next read).
        assert!(
            ringbolt::stats().ops_in_flight > baseline,
            "a pending read arms a poll on the ring"
        );
        drop(client);
        drop(server);
        let start = Instant::now();
        while ringbolt::stats().ops_in_flight > baseline && start.elapsed() < Duration::from_secs(5)
        {
            ringbolt::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            ringbolt::stats().ops_in_flight,
            baseline,
            "the dropped poll left the ring"
        );
    });
}

/// Size of the byte-identical transfer: 1 GiB in release builds (about 1-3 s on loopback),
/// 64 MiB in debug builds.
const BIG: usize = if cfg!(debug_assertions) {
    64 << 20
} else {
    1 << 30
};
/// A prime-length pattern, so chunk boundaries never line up with it.
const PATTERN_LEN: usize = 1_000_003;

#[test]
fn one_gib_through_tokio_compat_is_byte_identical() {
    let _w = watchdog(Duration::from_secs(120));
    let mut pattern = vec![0u8; PATTERN_LEN];
    Rng::new(7).fill(&mut pattern);
    let pattern = std::sync::Arc::new(pattern);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let p = pattern.clone();
    let reader = std::thread::spawn(move || {
        Runtime::new().unwrap().block_on(async move {
            let listener = TcpListener::from_std(listener);
            let (stream, _) = listener.accept().await.unwrap();
            let mut io = stream.into_poll_io();
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0usize;
            loop {
                let n = io.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                let mut off = 0;
                while off < n {
                    let at = (total + off) % PATTERN_LEN;
                    let len = (n - off).min(PATTERN_LEN - at);
                    assert!(
                        buf[off..off + len] == p[at..at + len],
                        "mismatch within bytes {}..{}",
                        total + off,
                        total + off + len
                    );
                    off += len;
                }
                total += n;
            }
            total
        })
    });
    let start = Instant::now();
    Runtime::new().unwrap().block_on(async move {
        let mut io = TcpStream::connect(addr).await.unwrap().into_poll_io();
        let mut sent = 0usize;
        while sent < BIG {
            let at = sent % PATTERN_LEN;
            let len = (BIG - sent).min(PATTERN_LEN - at).min(1 << 20);
            io.write_all(&pattern[at..at + len]).await.unwrap();
            sent += len;
        }
        io.shutdown().await.unwrap();
    });
    let total = reader.join().unwrap();
    assert_eq!(total, BIG);
    eprintln!(
        "{} MiB through the tokio-compat stream in {:?}",
        BIG >> 20,
        start.elapsed()
    );
}

#[test]
fn futures_io_traits_round_trip() {
    use futures_io::{AsyncRead, AsyncWrite};
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let (mut client, mut server) = pair().await;
        let msg = b"through futures-io";
        let mut sent = 0;
        while sent < msg.len() {
            sent += poll_fn(|cx| {
                AsyncWrite::poll_write(std::pin::Pin::new(&mut client), cx, &msg[sent..])
            })
            .await
            .unwrap();
        }
        poll_fn(|cx| AsyncWrite::poll_close(std::pin::Pin::new(&mut client), cx))
            .await
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n =
                poll_fn(|cx| AsyncRead::poll_read(std::pin::Pin::new(&mut server), cx, &mut buf))
                    .await
                    .unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, msg);
    });
}

#[test]
fn unix_stream_through_tokio_io() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut a = ringbolt::net::UnixStream::from_std(a).into_poll_io();
        let mut b = ringbolt::net::UnixStream::from_std(b).into_poll_io();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = ringbolt::spawn(async move {
            a.write_all(&data).await.unwrap();
            a.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert!(got == expected, "{} bytes back", got.len());
        writer.await.unwrap();
    });
}
