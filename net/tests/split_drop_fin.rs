//! Dropping an `OwnedWriteHalf` sends FIN (as tokio's does) while the read half keeps
//! reading; halves that are reunited send nothing.

mod common;

use common::watchdog;
use ringbolt_net::{TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::time::timeout;
use ringbolt_runtime::Runtime;
use std::time::Duration;

#[test]
fn dropping_write_half_sends_fin_and_read_half_still_reads() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();

        let (read_half, write_half) = client.into_split();
        let (res, _) = write_half.write_all(b"last words".to_vec()).await;
        res.unwrap();
        drop(write_half);

        // The server sees the data, then end of stream, although the client's read half lives.
        let (res, buf) = server.read_exact(vec![0u8; 10]).await;
        res.unwrap();
        assert_eq!(&buf[..], b"last words");
        let (res, _) = timeout(Duration::from_secs(5), server.read(vec![0u8; 16]))
            .await
            .expect("no FIN within 5 s after dropping the write half");
        assert_eq!(res.unwrap(), 0, "end of stream expected");

        // The other direction still works.
        let (res, _) = server.write_all(b"reply".to_vec()).await;
        res.unwrap();
        let (res, buf) = read_half.read_exact(vec![0u8; 5]).await;
        res.unwrap();
        assert_eq!(&buf[..], b"reply");
    });
}

#[test]
fn reunited_halves_do_not_shut_down() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = a.into_split();
        let a = r.reunite(w).unwrap();
        // Same the other way round.
        let (r, w) = a.into_split();
        let a = w.reunite(r).unwrap();
        let (res, _) = a.write_all(b"still open".to_vec()).await;
        res.unwrap();
        let (res, buf) = b.read_exact(vec![0u8; 10]).await;
        res.unwrap();
        assert_eq!(&buf[..], b"still open");
        // No end of stream is pending: a read waits (cut short by the timeout).
        let pending = timeout(Duration::from_millis(200), b.read(vec![0u8; 16])).await;
        assert!(pending.is_err(), "reunited halves must not have sent FIN");
    });
}

#[test]
fn mismatched_reunite_keeps_halves_open() {
    let _w = watchdog(Duration::from_secs(30));
    Runtime::new().unwrap().block_on(async {
        let (a, peer_a) = UnixStream::pair().unwrap();
        let (b, _peer_b) = UnixStream::pair().unwrap();
        let (ar, _aw) = a.into_split();
        let (_br, bw) = b.into_split();
        let err = ar.reunite(bw).unwrap_err();
        let (ar, _bw) = (err.0, err.1);
        // a's write half is still alive (held as `_aw`): a's peer sees no end of stream.
        let pending = timeout(Duration::from_millis(200), peer_a.read(vec![0u8; 1])).await;
        assert!(pending.is_err());
        drop(ar);
    });
}
