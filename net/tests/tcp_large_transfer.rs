//! Large transfer: one `write_all` of 256 MiB over loopback arrives intact (checksum), read
//! on another runtime with 64 KiB reads.

mod common;

use common::{watchdog, Checksum, Rng};
use ringbolt_net::{TcpListener, TcpStream};
use ringbolt_runtime::Runtime;
use std::time::Duration;

const SIZE: usize = 256 * 1024 * 1024;

#[test]
fn write_all_256_mib_arrives_intact() {
    let _w = watchdog(Duration::from_secs(120));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut data = vec![0u8; SIZE];
    Rng::new(42).fill(&mut data);
    let mut want = Checksum::default();
    want.update(&data);

    let reader = std::thread::spawn(move || {
        Runtime::new().unwrap().block_on(async move {
            let listener = TcpListener::from_std(listener);
            let (stream, _) = listener.accept().await.unwrap();
            let mut sum = Checksum::default();
            let mut total = 0usize;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let (res, b) = stream.read(buf).await;
                let n = res.unwrap();
                if n == 0 {
                    break;
                }
                sum.update(&b[..n]);
                total += n;
                buf = b;
            }
            (total, sum.value())
        })
    });

    Runtime::new().unwrap().block_on(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (res, data) = stream.write_all(data).await;
        res.unwrap();
        assert_eq!(data.len(), SIZE);
        stream.close().await.unwrap();
    });
    let (total, sum) = reader.join().unwrap();
    assert_eq!(total, SIZE);
    assert_eq!(sum, want.value(), "checksum mismatch");
}
