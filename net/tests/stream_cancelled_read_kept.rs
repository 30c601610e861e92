//! A read dropped after the kernel completed it (deterministically: the completion is reaped
//! before the drop) keeps its bytes on the stream: the next `read`, `readv`, split half,
//! `PollIo` or `read_exact` returns them first; end of stream is kept too; `into_std` refuses
//! to take the socket off its core while such bytes are held; a `recv_stream` reports them
//! instead of skipping them.

mod common;

use common::watchdog;
use ringbolt_net::{BufRing, UnixStream};
use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Starts a read (one poll: submitted), lets `data` arrive and the completion be reaped, then
/// drops the read.
async fn drop_completed_read(reader: &UnixStream, writer: &UnixStream, data: &[u8]) {
    {
        let mut read = pin!(reader.read(Vec::with_capacity(64 * 1024)));
        let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
        // The epoll driver completes a read whose result is already there (end of stream) in
        // its first poll: nothing is in flight to drop, and the end of stream was returned.
        let epoll = std::env::var("RINGBOLT_DRIVER").is_ok_and(|v| v == "epoll");
        assert!(first || (epoll && data.is_empty()), "nothing to read yet");
        if !first {
            return;
        }
        if !data.is_empty() {
            let (res, _) = writer.write_all(data.to_vec()).await;
            res.unwrap();
        }
        // The completion is reaped into the op's slot while nobody polls the read.
        sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
}

/// Reads with `read` into buffers of `cap` bytes until `n` bytes came (a read may be short:
/// the fault-injection suite shortens them).
async fn read_n(s: &UnixStream, n: usize, cap: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let (res, buf) = s.read(Vec::with_capacity(cap.min(n - got.len()))).await;
        let k = res.unwrap();
        assert!(k > 0, "early end of stream after {:?}", got);
        got.extend_from_slice(&buf[..k]);
    }
    got
}

#[test]
fn next_read_returns_the_dropped_reads_bytes_in_pieces() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        drop_completed_read(&a, &b, b"0123456789").await;
        let (res, _) = b.write_all(b"after".to_vec()).await;
        res.unwrap();
        let (res, buf) = a.read(Vec::with_capacity(4)).await;
        let k = res.unwrap();
        assert!((1..=4).contains(&k));
        assert_eq!(&buf[..], &b"0123"[..k]);
        let mut got = buf;
        got.extend_from_slice(&read_n(&a, 15 - k, 64).await);
        assert_eq!(&got[..], b"0123456789after");
    });
}

#[test]
fn readv_read_exact_and_a_split_half_see_the_kept_bytes() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        drop_completed_read(&a, &b, b"abcdefgh").await;
        let (res, bufs) = a
            .readv(vec![Vec::with_capacity(3), Vec::with_capacity(3)])
            .await;
        let n = res.unwrap();
        assert!((1..=6).contains(&n));
        let mut got = bufs.concat();
        assert_eq!(got.len(), n, "readv fills its buffers in order");
        let (res, _) = b.write_all(b"ij".to_vec()).await;
        res.unwrap();
        let (res, buf) = a.read_exact(vec![0u8; 10 - n]).await;
        res.unwrap();
        got.extend_from_slice(&buf);
        assert_eq!(&got[..], b"abcdefghij");

        // Dropped on the whole stream, read on its read half.
        drop_completed_read(&a, &b, b"split").await;
        let (rd, _wr) = a.into_split();
        let mut got = Vec::new();
        while got.len() < 5 {
            let (res, buf) = rd.read(Vec::with_capacity(64)).await;
            got.extend_from_slice(&buf[..res.unwrap()]);
        }
        assert_eq!(&got[..], b"split");
    });
}

#[test]
fn poll_io_sees_the_kept_bytes_first() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        drop_completed_read(&a, &b, b"first").await;
        let (res, _) = b.write_all(b"second".to_vec()).await;
        res.unwrap();
        let mut io = a.into_poll_io();
        let mut got = Vec::new();
        while got.len() < 11 {
            let mut buf = [0u8; 64];
            let n = poll_fn(|cx| io.poll_read(cx, &mut buf)).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(&got[..], b"firstsecond");
    });
}

#[test]
fn end_of_stream_is_kept_and_into_std_waits_for_the_bytes() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        drop_completed_read(&a, &b, b"held").await;
        let a = match a.into_std() {
            Ok(_) => panic!("into_std must not drop held bytes"),
            Err(e) => e.into_inner(),
        };
        assert_eq!(&read_n(&a, 4, 64).await[..], b"held");
        // Nothing held any more: the socket may leave.
        let a = UnixStream::from_std(a.into_std().expect("nothing held, nothing in flight"));

        drop(b);
        drop_completed_read(&a, &UnixStream::pair().unwrap().0, b"").await;
        let (res, _) = a.read(Vec::with_capacity(64)).await;
        assert_eq!(res.unwrap(), 0, "end of stream");
    });
}

#[test]
fn recv_stream_reports_bytes_a_dropped_read_kept() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(8, 1024).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        drop_completed_read(&a, &b, b"owned").await;
        {
            let mut rs = a.recv_stream(&ring);
            let err = rs.next().await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        }
        assert_eq!(&read_n(&a, 5, 64).await[..], b"owned");
    });
}
