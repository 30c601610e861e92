//! Zero-length transfers: a read into an empty buffer returns `Ok(0)` and is not end of
//! stream (`read_exact` of an empty buffer succeeds and the stream still works); an empty
//! write is a no-op; a 0-byte UDP datagram arrives as a 0-length datagram.

mod common;

use common::watchdog;
use ringbolt_net::{TcpListener, TcpStream, UdpSocket, UnixDatagram};
use ringbolt_runtime::Runtime;
use std::time::Duration;

#[test]
fn tcp_empty_buffers_are_not_eof() {
    let _w = watchdog(Duration::from_secs(20));
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();

        // Nothing was sent: a 0-byte read must not block and must not mean EOF.
        let (res, buf) = server.read(Vec::new()).await;
        assert_eq!(res.unwrap(), 0);
        assert!(buf.is_empty());
        let (res, _) = server.read_exact(Vec::new()).await;
        res.expect("read_exact of an empty buffer");
        let (res, _) = server.readv(vec![Vec::<u8>::new(), Vec::new()]).await;
        assert_eq!(res.unwrap(), 0);
        let (res, _) = client.write(Vec::new()).await;
        assert_eq!(res.unwrap(), 0);
        let (res, _) = client.write_all(Vec::new()).await;
        res.unwrap();
        let (res, _) = client.writev(vec![Vec::<u8>::new()]).await;
        assert_eq!(res.unwrap(), 0);

        // The stream still carries data afterwards.
        let (res, _) = client.write_all(b"after".to_vec()).await;
        res.unwrap();
        let (res, buf) = server.read_exact(Vec::with_capacity(5)).await;
        res.unwrap();
        assert_eq!(&buf[..], b"after");

        // Vectored I/O carries data across several buffers.
        let (res, _) = client
            .writev(vec![b"ab".to_vec(), b"".to_vec(), b"cde".to_vec()])
            .await;
        assert_eq!(res.unwrap(), 5);
        let (res, bufs) = server
            .readv(vec![Vec::with_capacity(3), Vec::with_capacity(8)])
            .await;
        let mut n = res.unwrap();
        let mut got: Vec<u8> = bufs.concat();
        while n < 5 {
            let (res, b) = server.read(vec![0u8; 8]).await;
            let k = res.unwrap();
            got.extend_from_slice(&b[..k]);
            n += k;
        }
        assert_eq!(got, b"abcde");

        // Real EOF: read_exact of a non-empty buffer fails with UnexpectedEof.
        client.close().await.unwrap();
        let (res, _) = server.read_exact(vec![0u8; 4]).await;
        assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
        let (res, _) = server.read(vec![0u8; 4]).await;
        assert_eq!(res.unwrap(), 0);
    });
}

#[test]
fn udp_empty_datagram_arrives_as_empty() {
    let _w = watchdog(Duration::from_secs(20));
    Runtime::new().unwrap().block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b_addr = b.local_addr().unwrap();
        let (res, _) = a.send_to(Vec::new(), b_addr).await;
        assert_eq!(res.unwrap(), 0);
        let (res, _) = a.send_to(b"x".to_vec(), b_addr).await;
        assert_eq!(res.unwrap(), 1);

        let (res, _) = b.recv_msg(vec![0u8; 16]).await;
        let meta = res.unwrap();
        assert_eq!((meta.len, meta.datagram_len), (0, 0));
        assert!(!meta.is_truncated());
        assert_eq!(meta.addr, a.local_addr().unwrap());
        // The next datagram is the 1-byte one: the empty one was consumed as a datagram.
        let (res, buf) = b.recv_from(vec![0u8; 16]).await;
        let (n, from) = res.unwrap();
        assert_eq!(
            (n, &buf[..n], from),
            (1, &b"x"[..], a.local_addr().unwrap())
        );

        // Connected send/recv of an empty datagram, received into an empty buffer.
        a.connect(b_addr).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        let (res, _) = a.send(Vec::new()).await;
        assert_eq!(res.unwrap(), 0);
        let (res, _) = b.recv(Vec::new()).await;
        assert_eq!(res.unwrap(), 0);
    });
}

#[test]
fn unix_datagram_empty_and_unnamed_sender() {
    let _w = watchdog(Duration::from_secs(20));
    Runtime::new().unwrap().block_on(async {
        let name = format!("\0ringbolt-zero-{}", std::process::id());
        let rx = UnixDatagram::bind(&name).unwrap();
        let tx = UnixDatagram::unbound().unwrap();
        let (res, _) = tx.send_to(Vec::new(), &name).await;
        assert_eq!(res.unwrap(), 0);
        let (res, _) = rx.recv_msg(vec![0u8; 4]).await;
        let meta = res.unwrap();
        assert_eq!(meta.datagram_len, 0);
        assert!(meta.addr.is_unnamed());
        let (res, _) = tx.send_to(b"abcdef".to_vec(), &name).await;
        assert_eq!(res.unwrap(), 6);
        let (res, buf) = rx.recv_msg(vec![0u8; 4]).await;
        let meta = res.unwrap();
        assert!(meta.is_truncated());
        assert_eq!(
            (meta.len, meta.datagram_len, &buf[..]),
            (4, 6, &b"abcd"[..])
        );
    });
}
