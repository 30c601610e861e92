//! A reused `Vec` holds exactly what the last read returned, so echoing it never sends stale
//! bytes; reads fill up to capacity, and `slice(..n)` limits them to `n` bytes.

mod common;

use common::watchdog;
use ringbolt_net::UnixStream;
use ringbolt_runtime::buf::IoBuf;
use ringbolt_runtime::Runtime;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn reused_vec_echo_sends_no_stale_bytes() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (client, server) = UnixStream::pair().unwrap();
        // The natural tokio-style echo loop, one buffer reused throughout.
        let echo = ringbolt_runtime::spawn(async move {
            let mut buf = Vec::with_capacity(64);
            loop {
                let (res, b) = server.read(buf).await;
                let n = res.unwrap();
                assert_eq!(
                    b.len(),
                    n,
                    "after a read the Vec holds exactly the bytes read"
                );
                if n == 0 {
                    return;
                }
                let (res, b) = server.write_all(b).await;
                res.unwrap();
                buf = b;
            }
        });
        for msg in [&b"a long first message"[..], b"hi", b"xyz"] {
            let (res, _) = client.write_all(msg.to_vec()).await;
            res.unwrap();
            // Exactly the message's length back (a stream may deliver it in pieces): stale
            // bytes from the longer first message would show here.
            let (res, got) = client.read_exact(Vec::with_capacity(msg.len())).await;
            res.unwrap();
            assert_eq!(&got[..], msg, "echo sent stale bytes");
        }
        client.shutdown(std::net::Shutdown::Write).await.unwrap();
        echo.await.unwrap();
    });
}

#[test]
fn read_exact_fills_capacity_and_slice_limits_it() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (res, _) = a.write_all(b"0123456789abcdef".to_vec()).await;
        res.unwrap();
        // A buffer with len 10 but capacity 4: a read fills to capacity (4), not len.
        let mut buf = Vec::with_capacity(4);
        buf.extend_from_slice(b"zzzz");
        let (res, buf) = b.read_exact(buf).await;
        res.unwrap();
        assert_eq!(&buf[..], b"0123");
        // A big reused buffer, limited with slice(..3): exactly 3 bytes, and the Vec's length
        // follows (no stale tail).
        let mut big = Vec::with_capacity(1024);
        big.extend_from_slice(&[b'!'; 100]);
        let (res, s) = b.read_exact(big.slice(..3)).await;
        res.unwrap();
        let big = s.into_inner();
        assert_eq!(&big[..], b"456");
        // readv: each buffer holds exactly its part.
        let bufs = vec![vec![b'?'; 2], Vec::with_capacity(100)];
        let (res, bufs) = b.readv(bufs).await;
        assert_eq!(res.unwrap(), 9);
        assert_eq!(&bufs[0][..], b"78");
        assert_eq!(&bufs[1][..], b"9abcdef");
    });
}

#[test]
fn shared_and_string_buffers_write() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let body: Rc<[u8]> = Rc::from(&b"cached "[..]);
        for _ in 0..2 {
            // One allocation serves every write.
            let (res, back) = a.write_all(body.clone()).await;
            res.unwrap();
            assert!(Rc::ptr_eq(&back, &body));
        }
        let (res, _) = a.write_all(Arc::<[u8]>::from(&b"arc "[..])).await;
        res.unwrap();
        let (res, s) = a.write_all(String::from("string ")).await;
        res.unwrap();
        assert_eq!(s, "string ");
        let (res, _) = a.write_all(Box::<str>::from("box")).await;
        res.unwrap();
        let (res, got) = b.read_exact(vec![0u8; 28]).await;
        res.unwrap();
        assert_eq!(&got[..], b"cached cached arc string box");
        assert_eq!(Rc::strong_count(&body), 1, "the op released its handle");
    });
}
