//! Half close: the client shuts down its write side; the server reads `Ok(0)`, still writes
//! 1 MiB back, and the client receives all of it. Over TCP and Unix sockets.

mod common;

use common::{open_fds, serial, settle_fds, watchdog, Checksum, Rng};
use ringbolt_net::{TcpListener, TcpStream, UnixListener, UnixStream};
use ringbolt_runtime::Runtime;
use std::net::Shutdown;
use std::time::Duration;

const REPLY: usize = 1024 * 1024;

/// What each side does, as closures over the concrete stream type (the two protocols share
/// the method names but no trait).
macro_rules! half_close_round {
    ($server:expr, $client:expr) => {{
        let server = $server;
        let client = $client;
        let reply = Rng::new(7).bytes(REPLY);
        let mut want = Checksum::default();
        want.update(&reply);

        let srv = ringbolt_runtime::spawn(async move {
            // Read the request until end of stream.
            let mut got = Vec::new();
            loop {
                let (res, buf) = server.read(vec![0u8; 4096]).await;
                let n = res.expect("server read");
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            // The read side is at EOF; a second read says so again.
            let (res, _) = server.read(vec![0u8; 16]).await;
            assert_eq!(res.expect("read after EOF"), 0);
            // The write side still works.
            let (res, _) = server.write_all(reply).await;
            res.expect("server write after peer shutdown");
            server.close().await.expect("server close");
            got
        });

        let (res, _) = client.write_all(b"request".to_vec()).await;
        res.expect("client write");
        client
            .shutdown(Shutdown::Write)
            .await
            .expect("shutdown(Write)");
        // Writing after shutdown fails with EPIPE, without a signal.
        let (res, _) = client.write(b"late".to_vec()).await;
        assert_eq!(
            res.expect_err("write after shutdown").raw_os_error(),
            Some(libc::EPIPE)
        );

        let mut sum = Checksum::default();
        let mut total = 0usize;
        loop {
            let (res, buf) = client.read(vec![0u8; 64 * 1024]).await;
            let n = res.expect("client read");
            if n == 0 {
                break;
            }
            sum.update(&buf[..n]);
            total += n;
        }
        assert_eq!(total, REPLY, "client received {total} of {REPLY} bytes");
        assert_eq!(sum.value(), want.value(), "reply corrupted");
        assert_eq!(srv.await.expect("server task"), b"request");
        client.close().await.expect("client close");
    }};
}

#[test]
fn tcp_half_close() {
    let _w = watchdog(Duration::from_secs(30));
    let _serial = serial();
    let baseline = open_fds();
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        half_close_round!(server, client);
    });
    assert_eq!(settle_fds(baseline, Duration::from_secs(2)), baseline);
}

#[test]
fn tcp_half_close_ipv6() {
    let _w = watchdog(Duration::from_secs(30));
    // Serialised with the fd-counting test in this binary.
    let _serial = serial();
    let Ok(probe) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    };
    drop(probe);
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("[::1]:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        half_close_round!(server, client);
    });
}

#[test]
fn unix_half_close() {
    let _w = watchdog(Duration::from_secs(30));
    // Serialised with the fd-counting test in this binary.
    let _serial = serial();
    let dir = std::env::temp_dir().join(format!("ringbolt-half-close-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    Runtime::new().unwrap().block_on(async {
        let listener = UnixListener::bind(&dir).unwrap();
        let client = UnixStream::connect(&dir).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(dir.as_path())
        );
        half_close_round!(server, client);
    });
    let _ = std::fs::remove_file(&dir);
}

#[test]
fn unix_pair_half_close() {
    let _w = watchdog(Duration::from_secs(30));
    // Serialised with the fd-counting test in this binary.
    let _serial = serial();
    Runtime::new().unwrap().block_on(async {
        let (server, client) = UnixStream::pair().unwrap();
        half_close_round!(server, client);
    });
}
