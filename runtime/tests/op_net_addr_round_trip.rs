//! Addresses through the kernel and back, at the op level: what `Accept` and `RecvMsg` report
//! (the kernel writes into the op's raw storage, turned into a `socket2::SockAddr` at
//! completion) equals what the peer is bound to, for IPv4, IPv6, a Unix pathname of the full
//! 108 bytes of `sun_path` (no terminating NUL), an abstract name and an unbound peer; and
//! `Connect`/`SendTo` reach the addresses built by `unix_path`/`unix_abstract`. Runs on
//! whichever driver `RINGBOLT_DRIVER` picks.

mod common;

use common::watchdog;
use ringbolt_runtime::ops::net::{
    unix_abstract, unix_addr, unix_path, Accept, Connect, RecvMsg, SendTo, SockAddr, UnixAddr,
};
use ringbolt_runtime::{Runtime, SharedFd};
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Length of `sun_path`.
const SUN_PATH: usize = 108;

/// A fresh directory under /tmp (short enough for a 108-byte path inside), removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = PathBuf::from(format!("/tmp/rb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    /// A path in the directory of exactly 108 bytes.
    fn full_length_path(&self, tag: char) -> PathBuf {
        let base = self.0.as_os_str().len() + 1;
        let p = self
            .0
            .join(std::iter::repeat_n(tag, SUN_PATH - base).collect::<String>());
        assert_eq!(p.as_os_str().len(), SUN_PATH);
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn shared(s: Socket) -> SharedFd {
    SharedFd::new(OwnedFd::from(s))
}

/// A socket of `domain`/`ty` bound to `addr`.
fn bound(domain: Domain, ty: Type, addr: &SockAddr) -> std::io::Result<Socket> {
    let s = Socket::new(domain, ty, None)?;
    s.bind(addr)?;
    Ok(s)
}

/// The loopback addresses this machine has (IPv6 may be disabled).
fn loopbacks() -> Vec<SocketAddr> {
    let mut v: Vec<SocketAddr> = vec!["127.0.0.1:0".parse().unwrap()];
    if std::net::UdpSocket::bind("[::1]:0").is_ok() {
        v.push("[::1]:0".parse().unwrap());
    } else {
        eprintln!("no IPv6 loopback: the IPv6 cases are skipped");
    }
    v
}

#[test]
fn accept_and_recvmsg_report_ip_peers() {
    let _w = watchdog("ip_peers", Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        for any in loopbacks() {
            let domain = Domain::for_address(any);
            // TCP: the client connects with the Connect op from a bound port.
            let listener = bound(domain, Type::STREAM, &any.into()).unwrap();
            listener.listen(8).unwrap();
            let server_addr = listener.local_addr().unwrap();
            let listener = shared(listener);
            let client = bound(domain, Type::STREAM, &any.into()).unwrap();
            let client_addr = client.local_addr().unwrap().as_socket().unwrap();
            let client = shared(client);
            Connect::op(&client, server_addr.clone())
                .await
                .expect("connect");
            let (_conn, peer) = Accept::op(&listener).await.expect("accept");
            assert_eq!(peer.as_socket(), Some(client_addr), "accepted peer");
            assert_eq!(peer, SockAddr::from(client_addr));

            // UDP: SendTo one way, RecvMsg reports the sender.
            let a = bound(domain, Type::DGRAM, &any.into()).unwrap();
            let b = bound(domain, Type::DGRAM, &any.into()).unwrap();
            let a_addr = a.local_addr().unwrap().as_socket().unwrap();
            let b_addr = b.local_addr().unwrap();
            let (a, b) = (shared(a), shared(b));
            let (res, _) = SendTo::op(&a, b"hi".to_vec(), b_addr, 0).await;
            assert_eq!(res.unwrap(), 2);
            let (res, buf) = RecvMsg::op(&b, Vec::with_capacity(8), 0).await;
            let out = res.unwrap();
            assert_eq!(&buf[..], b"hi");
            assert_eq!(out.addr.as_socket(), Some(a_addr), "datagram sender");
        }
    });
}

#[test]
fn accept_reports_full_length_path_and_unnamed_peers() {
    let _w = watchdog("unix_stream_peers", Duration::from_secs(60));
    let dir = TempDir::new("addr-stream");
    // The listener itself sits at a 108-byte path: Connect must reach it.
    let listen_path = dir.full_length_path('l');
    let peer_path = dir.full_length_path('c');
    Runtime::new().unwrap().block_on(async {
        let listen_addr = unix_path(&listen_path).unwrap();
        let listener = bound(Domain::UNIX, Type::STREAM, &listen_addr).expect("bind 108 bytes");
        listener.listen(8).unwrap();
        let listener = shared(listener);

        let peer_addr = unix_path(&peer_path).unwrap();
        let client = shared(bound(Domain::UNIX, Type::STREAM, &peer_addr).unwrap());
        Connect::op(&client, listen_addr.clone())
            .await
            .expect("connect to a 108-byte path");
        let (_conn, peer) = Accept::op(&listener).await.expect("accept");
        assert_eq!(
            unix_addr(&peer),
            Some(UnixAddr::Pathname(peer_path.clone())),
            "all 108 bytes of the peer's path"
        );

        let unbound = shared(Socket::new(Domain::UNIX, Type::STREAM, None).unwrap());
        Connect::op(&unbound, listen_addr).await.expect("connect");
        let (_conn, peer) = Accept::op(&listener).await.expect("accept");
        assert_eq!(unix_addr(&peer), Some(UnixAddr::Unnamed), "{peer:?}");
    });
}

#[test]
fn recvmsg_reports_abstract_full_length_and_unbound_senders() {
    let _w = watchdog("unix_dgram_senders", Duration::from_secs(60));
    let dir = TempDir::new("addr-dgram");
    let tag = format!("rb-addr-{}", std::process::id());
    Runtime::new().unwrap().block_on(async {
        let recv_name = format!("{tag}-recv");
        let recv_addr = unix_abstract(recv_name.as_bytes()).unwrap();
        let receiver = shared(bound(Domain::UNIX, Type::DGRAM, &recv_addr).unwrap());

        let send_name = format!("{tag}-send\0with a NUL");
        let senders = [
            (
                Some(unix_abstract(send_name.as_bytes()).unwrap()),
                UnixAddr::Abstract(send_name.into_bytes()),
            ),
            (
                Some(unix_path(&dir.full_length_path('s')).unwrap()),
                UnixAddr::Pathname(dir.full_length_path('s')),
            ),
            (None, UnixAddr::Unnamed),
        ];
        for (bind_to, expected) in senders {
            let s = match &bind_to {
                Some(addr) => bound(Domain::UNIX, Type::DGRAM, addr).unwrap(),
                None => Socket::new(Domain::UNIX, Type::DGRAM, None).unwrap(),
            };
            let s = shared(s);
            let (res, _) = SendTo::op(&s, b"x".to_vec(), recv_addr.clone(), 0).await;
            assert_eq!(res.unwrap(), 1);
            let (res, _) = RecvMsg::op(&receiver, Vec::with_capacity(4), 0).await;
            let out = res.unwrap();
            let got = unix_addr(&out.addr);
            if expected == UnixAddr::Unnamed {
                // Linux reports an unbound sender with no address at all (length 0).
                assert!(
                    got == Some(UnixAddr::Unnamed) || (got.is_none() && out.addr.len() == 0),
                    "{:?}",
                    out.addr
                );
            } else {
                assert_eq!(got, Some(expected));
            }
        }
    });
}

/// Binding at a 108-byte path creates the socket file under all 108 bytes, not 107.
#[test]
fn full_length_bind_creates_the_whole_path() {
    let dir = TempDir::new("addr-bind");
    let p = dir.full_length_path('b');
    let _s = bound(Domain::UNIX, Type::DGRAM, &unix_path(&p).unwrap()).unwrap();
    assert!(std::fs::metadata(&p).is_ok());
    let prefix = Path::new(std::ffi::OsStr::from_bytes(
        &p.as_os_str().as_bytes()[..SUN_PATH - 1],
    ));
    assert!(std::fs::metadata(prefix).is_err());
}
