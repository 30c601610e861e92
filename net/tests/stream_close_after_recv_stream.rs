//! `close` while a multishot receive or multishot accept is armed: a `RecvStream` or
//! `Incoming` borrows its socket (so `close` in the task holding one does not compile, see
//! their `compile_fail` doc tests); once it is dropped, `close` returns promptly, because
//! the armed op is cancelled, instead of waiting for data or a connection that never comes.

mod common;

use common::{open_fds, serial, settle_fds, watchdog};
use ringbolt_net::{BufRing, TcpListener, TcpStream, UnixListener, UnixStream};
use ringbolt_runtime::time::timeout;
use ringbolt_runtime::Runtime;
use std::time::Duration;

/// How long `close` may take: far more than a cancellation needs on a loaded machine, far
/// less than "forever".
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

#[test]
fn tcp_close_after_dropping_an_armed_recv_stream_returns() {
    let _w = watchdog(Duration::from_secs(60));
    let _s = serial();
    let baseline = open_fds();
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(8, 1024).expect("buffer ring");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (res, _) = client.write_all(b"one".to_vec()).await;
        res.unwrap();
        let mut chunks = server.recv_stream(&ring);
        match chunks.next().await {
            Ok(Some(buf)) => assert_eq!(&buf[..], b"one"),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                eprintln!("SKIP: no multishot receive on this kernel");
                return;
            }
            other => panic!("unexpected {other:?}"),
        }
        // The multishot receive stays armed, waiting for data the client never sends.
        drop(chunks);
        timeout(CLOSE_LIMIT, server.close())
            .await
            .expect("close returns once the dropped receive is cancelled")
            .expect("close");
        drop(client);
        drop(listener);
    });
    assert_eq!(settle_fds(baseline, Duration::from_secs(5)), baseline);
}

#[test]
fn unix_close_after_dropping_an_armed_recv_stream_returns() {
    let _w = watchdog(Duration::from_secs(60));
    let _s = serial();
    Runtime::new().unwrap().block_on(async {
        let ring = BufRing::new(8, 1024).expect("buffer ring");
        let (a, b) = UnixStream::pair().unwrap();
        let (res, _) = a.write_all(b"x".to_vec()).await;
        res.unwrap();
        let mut chunks = b.recv_stream(&ring);
        match chunks.next().await {
            Ok(Some(buf)) => assert_eq!(&buf[..], b"x"),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                eprintln!("SKIP: no multishot receive on this kernel");
                return;
            }
            other => panic!("unexpected {other:?}"),
        }
        drop(chunks);
        timeout(CLOSE_LIMIT, b.close())
            .await
            .expect("close returns")
            .expect("close");
    });
}

#[test]
fn listener_close_after_dropping_an_armed_incoming_returns() {
    let _w = watchdog(Duration::from_secs(60));
    let _s = serial();
    let baseline = open_fds();
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = listener.incoming();
        let client = TcpStream::connect(addr).await.unwrap();
        let server = incoming.next().await.expect("first connection");
        // The accept stays armed (multishot where the kernel has it) for a second client that
        // never comes.
        drop(incoming);
        timeout(CLOSE_LIMIT, listener.close())
            .await
            .expect("close returns once the dropped accept is cancelled")
            .expect("close");
        drop((client, server));

        let path = std::env::temp_dir().join(format!("rb-incoming-close-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let mut incoming = listener.incoming();
        let client = UnixStream::connect(&path).await.unwrap();
        let server = incoming.next().await.expect("first connection");
        drop(incoming);
        timeout(CLOSE_LIMIT, listener.close())
            .await
            .expect("close returns")
            .expect("close");
        drop((client, server));
        let _ = std::fs::remove_file(&path);
    });
    assert_eq!(settle_fds(baseline, Duration::from_secs(5)), baseline);
}
