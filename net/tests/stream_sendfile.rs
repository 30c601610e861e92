//! `sendfile` (splice through a pipe): a file reaches a TCP peer byte for byte, from an
//! offset, short when the file ends first, with an error (not a signal or a hang) when the
//! peer is gone, and without leaking the pipe's fds.

mod common;

use common::{open_fds, serial, settle_fds, watchdog, Rng};
use ringbolt_net::{TcpListener, TcpStream};
use ringbolt_runtime::{Runtime, SharedFd};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::time::Duration;

fn temp_file(data: &[u8]) -> (std::path::PathBuf, SharedFd) {
    let path = std::env::temp_dir().join(format!(
        "ringbolt-sendfile-{}-{}",
        std::process::id(),
        Rng::new(data.len() as u64).next_u64()
    ));
    std::fs::write(&path, data).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    (path, SharedFd::new(OwnedFd::from(f)))
}

#[test]
fn sendfile_sends_the_range_byte_for_byte() {
    let _w = watchdog(Duration::from_secs(60));
    let _s = serial();
    let baseline = open_fds();
    let data = Rng::new(77).bytes(5 * 1024 * 1024 + 123);
    let (path, file) = temp_file(&data);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    Runtime::new().unwrap().block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        // The whole file, then a middle range, then a range running past the end of file.
        let n = stream.sendfile(&file, 0, data.len() as u64).await.unwrap();
        assert_eq!(n, data.len() as u64);
        let n = stream.sendfile(&file, 1000, 70_000).await.unwrap();
        assert_eq!(n, 70_000);
        let n = stream
            .sendfile(&file, data.len() as u64 - 10, 1 << 20)
            .await
            .unwrap();
        assert_eq!(n, 10, "short count when the file ends first");
        let n = stream.sendfile(&file, 0, 0).await.unwrap();
        assert_eq!(n, 0);
    });
    let got = reader.join().unwrap();
    let mut want = data.clone();
    want.extend_from_slice(&data[1000..71_000]);
    want.extend_from_slice(&data[data.len() - 10..]);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "sendfile bytes differ");
    drop(file);
    assert_eq!(
        settle_fds(baseline, Duration::from_secs(5)),
        baseline,
        "pipe fds leaked"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn sendfile_to_a_closed_peer_fails_cleanly() {
    let _w = watchdog(Duration::from_secs(60));
    let _s = serial();
    let data = Rng::new(78).bytes(8 * 1024 * 1024);
    let (path, file) = temp_file(&data);
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        // The peer reads a little and resets.
        let (res, _) = client.read_exact(vec![0u8; 0]).await;
        res.unwrap();
        let sender =
            ringbolt_runtime::spawn(
                async move { server.sendfile(&file, 0, data.len() as u64).await },
            );
        let (res, _) = client.read_exact(vec![0u8; 4096]).await;
        res.unwrap();
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        let res = ringbolt_runtime::time::timeout(Duration::from_secs(20), sender)
            .await
            .expect("sendfile hung after the peer reset")
            .unwrap();
        let e = res.expect_err("sending 8 MiB to a reset peer must fail");
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "unexpected error {e:?}"
        );
    });
    std::fs::remove_file(path).unwrap();
}

#[test]
fn sendfile_rejects_a_directory_and_bad_ranges() {
    let _w = watchdog(Duration::from_secs(30));
    let _s = serial();
    Runtime::new().unwrap().block_on(async {
        let (a, _b) = ringbolt_net::UnixStream::pair().unwrap();
        let dir = SharedFd::new(OwnedFd::from(std::fs::File::open("/").unwrap()));
        let e = a.sendfile(&dir, 0, 10).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e:?}");
        let e = a.sendfile(&dir, u64::MAX - 1, 10).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    });
}
