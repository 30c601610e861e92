//! UDP socket options and connected use: broadcast and multicast settings take effect, a
//! connected socket sends and receives with `send`/`recv`, and `peer_addr` reports the peer.

mod common;

use common::watchdog;
use ringbolt_net::UdpSocket;
use ringbolt_runtime::Runtime;
use std::net::Ipv4Addr;
use std::time::Duration;

#[test]
fn options_and_connected_use() {
    let _w = watchdog(Duration::from_secs(20));
    Runtime::new().unwrap().block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(!a.broadcast().unwrap());
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        a.set_multicast_ttl_v4(2).unwrap();
        a.set_multicast_loop_v4(true).unwrap();
        a.set_ttl(32).unwrap();
        a.set_send_buffer_size(1 << 16).unwrap();
        // Joining a group on the loopback interface, then leaving it.
        let group = Ipv4Addr::new(239, 255, 42, 99);
        if a.join_multicast_v4(group, Ipv4Addr::LOCALHOST).is_ok() {
            a.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
        }
        assert_eq!(
            a.peer_addr().unwrap_err().raw_os_error(),
            Some(libc::ENOTCONN)
        );

        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        for i in 0..100u32 {
            let (res, _) = a.send(i.to_le_bytes().to_vec()).await;
            assert_eq!(res.unwrap(), 4);
            let (res, buf) = b.recv(vec![0u8; 8]).await;
            assert_eq!(res.unwrap(), 4);
            assert_eq!(buf[..4], i.to_le_bytes());
        }
        // A connected socket ignores datagrams from others.
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (res, _) = c
            .send_to(b"intruder".to_vec(), b.local_addr().unwrap())
            .await;
        res.unwrap();
        let (res, _) = a.send(b"friend".to_vec()).await;
        res.unwrap();
        let (res, buf) = b.recv_from(vec![0u8; 16]).await;
        let (n, from) = res.unwrap();
        assert_eq!((&buf[..n], from), (&b"friend"[..], a.local_addr().unwrap()));
        a.close().await.unwrap();
    });
}
