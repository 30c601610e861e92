//! Peer reset mid-write: during a 64 MiB `write_all`, the peer sets `SO_LINGER 0` and closes.
//! The writer gets `ECONNRESET`/`EPIPE` within 1 s, the process is not killed by `SIGPIPE`
//! (its default action is restored for this test), and no fd leaks.

mod common;

use common::{open_fds, serial, settle_fds, watchdog};
use ringbolt_net::TcpListener;
use ringbolt_runtime::Runtime;
use std::io::Read;
use std::time::{Duration, Instant};

#[test]
fn write_all_fails_fast_on_peer_reset_without_sigpipe() {
    let _w = watchdog(Duration::from_secs(60));
    // Rust's runtime ignores SIGPIPE; restore the default (terminate) so that a send without
    // MSG_NOSIGNAL would kill this test process.
    // SAFETY: setting a signal disposition to SIG_DFL installs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let _serial = serial();
    let baseline = open_fds();

    for round in 0..3 {
        Runtime::new().unwrap().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let (closed_tx, closed_rx) = std::sync::mpsc::channel::<Instant>();
            let peer = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                // Take some of the data so the writer is mid-transfer, then reset.
                let mut buf = vec![0u8; 256 * 1024];
                let mut got = 0;
                while got < 4 * 1024 * 1024 {
                    got += s.read(&mut buf).unwrap();
                }
                socket2::SockRef::from(&s)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
                drop(s);
                closed_tx.send(Instant::now()).unwrap();
            });
            let (stream, _) = listener.accept().await.unwrap();
            let data = vec![0xA5u8; 64 * 1024 * 1024];
            let (res, data) = stream.write_all(data).await;
            let failed_at = Instant::now();
            let err = res.expect_err("write_all to a reset peer must fail");
            let code = err.raw_os_error();
            assert!(
                code == Some(libc::ECONNRESET) || code == Some(libc::EPIPE),
                "round {round}: unexpected error {err:?}"
            );
            let closed_at = closed_rx.recv().unwrap();
            let delay = failed_at.saturating_duration_since(closed_at);
            assert!(delay < Duration::from_secs(1), "error took {delay:?}");
            assert_eq!(data.len(), 64 * 1024 * 1024, "buffer comes back on error");
            // A further write fails the same way (EPIPE now), still without a signal.
            let (res, _) = stream.write(vec![1u8; 1024]).await;
            assert!(res.is_err());
            peer.join().unwrap();
            stream.close().await.unwrap();
            assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
        });
    }
    assert_eq!(
        settle_fds(baseline, Duration::from_secs(2)),
        baseline,
        "fd leak"
    );
}
