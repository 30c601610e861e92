//! A local peer bound to a 108-byte Unix path without a terminating NUL (Linux allows it;
//! std cannot build such an address from parts) must not stop a server: `accept` hands over
//! the connection with the exact address, and `recv_from`/`recv_msg` return the datagram
//! (sender unnamed) instead of consuming it and failing.

mod common;

use common::watchdog;
use ringbolt_net::{UnixDatagram, UnixListener, UnixStream};
use ringbolt_runtime::Runtime;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Length of `sun_path`.
const SUN_PATH: usize = 108;

/// A fresh directory under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("rb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path in `dir` of exactly 108 bytes.
fn full_length_path(dir: &Path, tag: char) -> PathBuf {
    let base = dir.as_os_str().len() + 1;
    assert!(base < SUN_PATH - 8, "temp dir path too long for this test");
    let p = dir.join(std::iter::repeat_n(tag, SUN_PATH - base).collect::<String>());
    assert_eq!(p.as_os_str().len(), SUN_PATH);
    p
}

/// A Unix socket of type `ty` bound to `path` (all 108 bytes of `sun_path`, no NUL), as a
/// hostile local user would make it.
fn bind_without_nul(ty: libc::c_int, path: &Path) -> OwnedFd {
    let bytes = path.as_os_str().as_bytes();
    assert_eq!(bytes.len(), SUN_PATH);
    // SAFETY: plain socket(2) call; the fd is checked and then owned.
    let fd = unsafe { libc::socket(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is fresh and ours.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_un is plain data; all-zero is valid.
    let mut un: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    un.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &b) in un.sun_path.iter_mut().zip(bytes) {
        *d = b as libc::c_char;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: `un` is a valid sockaddr_un and the length is its full size.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&un as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
    fd
}

#[test]
fn accept_hands_over_a_peer_with_a_full_length_path() {
    let _w = watchdog(Duration::from_secs(60));
    let dir = TempDir::new("unix-long-accept");
    let listen_path = dir.0.join("l");
    let peer_path = full_length_path(&dir.0, 'c');
    Runtime::new().unwrap().block_on(async {
        let listener = UnixListener::bind(&listen_path).expect("bind listener");

        // The hostile peer: bound to 108 bytes, then connected.
        let peer = socket2::Socket::from(bind_without_nul(libc::SOCK_STREAM, &peer_path));
        peer.connect(&socket2::SockAddr::unix(&listen_path).unwrap())
            .expect("connect");
        let peer = std::os::unix::net::UnixStream::from(OwnedFd::from(peer));

        let (server, addr) = listener
            .accept()
            .await
            .expect("accept succeeds whatever the peer's address");
        assert_eq!(
            addr.as_pathname(),
            Some(peer_path.as_path()),
            "exact address"
        );
        let peer_addr = server.peer_addr().expect("peer_addr");
        assert_eq!(peer_addr.as_pathname(), Some(peer_path.as_path()));

        // The connection works.
        use std::io::Write;
        (&peer).write_all(b"ping").expect("peer write");
        let (res, buf) = server.read_exact(vec![0u8; 4]).await;
        res.expect("server read");
        assert_eq!(&buf[..], b"ping");

        // And the server goes on accepting.
        let normal = UnixStream::connect(&listen_path).await.expect("connect");
        let (_s, addr) = listener.accept().await.expect("next accept");
        assert!(addr.is_unnamed());
        drop(normal);
    });
}

#[test]
fn connect_to_a_listener_at_a_full_length_path() {
    let _w = watchdog(Duration::from_secs(60));
    let dir = TempDir::new("unix-long-connect");
    let path = full_length_path(&dir.0, 'l');
    let listener = socket2::Socket::from(bind_without_nul(libc::SOCK_STREAM, &path));
    listener.listen(4).expect("listen");
    Runtime::new().unwrap().block_on(async {
        let client = UnixStream::connect(&path)
            .await
            .expect("Linux takes a 108-byte path without NUL");
        let (accepted, _) = listener.accept().expect("accept");
        let peer = client.peer_addr().expect("peer_addr");
        assert_eq!(peer.as_pathname(), Some(path.as_path()));
        drop(accepted);
    });
}

#[test]
fn recv_from_keeps_the_datagram_of_a_full_length_sender() {
    let _w = watchdog(Duration::from_secs(60));
    let dir = TempDir::new("unix-long-dgram");
    let server_path = dir.0.join("s");
    let peer_path = full_length_path(&dir.0, 'd');
    Runtime::new().unwrap().block_on(async {
        let server = UnixDatagram::bind(&server_path).expect("bind server");
        let peer =
            std::os::unix::net::UnixDatagram::from(bind_without_nul(libc::SOCK_DGRAM, &peer_path));
        peer.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        assert_eq!(peer.send_to(b"hello", &server_path).expect("send 1"), 5);
        assert_eq!(peer.send_to(b"world!", &server_path).expect("send 2"), 6);

        let (res, buf) = server.recv_from(vec![0u8; 64]).await;
        let (n, from) = res.expect("recv_from returns the datagram");
        assert_eq!(&buf[..n], b"hello");
        assert!(from.is_unnamed(), "a sender std cannot hold is unnamed");

        let (res, buf) = server.recv_msg(vec![0u8; 64]).await;
        let meta = res.expect("recv_msg returns the datagram");
        assert_eq!((meta.len, meta.datagram_len), (6, 6));
        assert_eq!(&buf[..meta.len], b"world!");
        assert!(meta.addr.is_unnamed());

        // The sender can still be answered at its path.
        let (res, _) = server.send_to(b"reply".to_vec(), &peer_path).await;
        assert_eq!(res.expect("send_to a 108-byte path"), 5);
        let mut got = [0u8; 16];
        let n = peer.recv(&mut got).expect("peer receives the reply");
        assert_eq!(&got[..n], b"reply");
        assert_eq!(
            server.local_addr().unwrap().as_pathname(),
            Some(server_path.as_path())
        );
    });
}
