//! Owned halves: one task writes 4 MiB while another reads the echo concurrently on the same
//! connection (a proxy's shape); the halves reunite; halves of different streams do not.

mod common;

use common::{watchdog, Checksum, Rng};
use ringbolt_net::{TcpListener, TcpStream, UnixStream};
use ringbolt_runtime::Runtime;
use std::time::Duration;

const SIZE: usize = 4 * 1024 * 1024;

#[test]
fn tcp_halves_read_and_write_concurrently() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Echo server, itself split: a reader task feeds a writer task (a proxy's shape).
        let server = ringbolt_runtime::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (rd, wr) = stream.into_split();
            let (tx, mut rx) = ringbolt_runtime::sync::mpsc::unbounded_channel::<Vec<u8>>();
            let pump = ringbolt_runtime::spawn(async move {
                while let Some(chunk) = rx.recv().await {
                    let (res, _) = wr.write_all(chunk).await;
                    res.unwrap();
                }
                wr.shutdown().await.unwrap();
                wr
            });
            loop {
                let (res, buf) = rd.read(vec![0u8; 32 * 1024]).await;
                let n = res.unwrap();
                if n == 0 {
                    break;
                }
                tx.send(buf[..n].to_vec()).unwrap();
            }
            drop(tx);
            let wr = pump.await.unwrap();
            let stream = rd.reunite(wr).unwrap();
            stream.close().await.unwrap();
        });

        let client = TcpStream::connect(addr).await.unwrap();
        let (rd, wr) = client.into_split();
        let data = Rng::new(3).bytes(SIZE);
        let mut want = Checksum::default();
        want.update(&data);
        let writer = ringbolt_runtime::spawn(async move {
            // Many small writes interleaved with the reader's reads.
            for chunk in data.chunks(7 * 1024 + 13) {
                let (res, _) = wr.write_all(chunk.to_vec()).await;
                res.unwrap();
            }
            wr.shutdown().await.unwrap();
            wr
        });
        let mut sum = Checksum::default();
        let mut total = 0;
        loop {
            let (res, buf) = rd.read(vec![0u8; 16 * 1024]).await;
            let n = res.unwrap();
            if n == 0 {
                break;
            }
            sum.update(&buf[..n]);
            total += n;
        }
        assert_eq!(total, SIZE);
        assert_eq!(sum.value(), want.value());
        let wr = writer.await.unwrap();
        let client = wr.reunite(rd).unwrap();
        client.close().await.unwrap();
        server.await.unwrap();
    });
}

#[test]
fn halves_of_different_streams_do_not_reunite() {
    let _w = watchdog(Duration::from_secs(10));
    Runtime::new().unwrap().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (ar, _aw) = a.into_split();
        let (_br, bw) = b.into_split();
        let err = ar.reunite(bw).unwrap_err();
        assert!(err.to_string().contains("different streams"));
        let (ar, bw) = (err.0, err.1);
        let (res, _) = bw.write_all(b"still usable".to_vec()).await;
        res.unwrap();
        let (res, buf) = ar.read_exact(vec![0u8; 12]).await;
        res.unwrap();
        assert_eq!(&buf[..], b"still usable");
    });
}
