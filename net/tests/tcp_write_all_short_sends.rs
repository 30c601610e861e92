//! `write_all` through short sends: with a small send buffer and a reader that takes its time,
//! the kernel accepts a large buffer a piece at a time, so `write_all` must resume from where
//! each send stopped (its out-of-line path). Every byte arrives once, in order, and the
//! runtime's counters show that more than one send was needed.

mod common;

use common::{watchdog, Checksum, Rng};
use ringbolt_net::TcpSocket;
use ringbolt_runtime::Runtime;
use std::io::Read;
use std::time::Duration;

const SIZE: usize = 2 * 1024 * 1024;

#[test]
fn write_all_resumes_after_short_sends() {
    let _w = watchdog(Duration::from_secs(60));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut data = vec![0u8; SIZE];
    Rng::new(7).fill(&mut data);
    let mut want = Checksum::default();
    want.update(&data);

    // A plain blocking reader that pauses now and then, so the sender's buffer fills.
    let reader = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut sum = Checksum::default();
        let mut total = 0usize;
        let mut buf = vec![0u8; 16 * 1024];
        let mut since_pause = 0usize;
        loop {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            sum.update(&buf[..n]);
            total += n;
            since_pause += n;
            if since_pause >= 256 * 1024 {
                since_pause = 0;
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        (total, sum.value())
    });

    let sends = Runtime::new().unwrap().block_on(async move {
        let sock = TcpSocket::for_addr(addr).unwrap();
        sock.set_send_buffer_size(4096).unwrap();
        let stream = sock.connect(addr).await.unwrap();
        let before = ringbolt_runtime::stats().ops_submitted;
        let (res, data) = stream.write_all(data).await;
        let sends = ringbolt_runtime::stats().ops_submitted - before;
        res.unwrap();
        assert_eq!(data.len(), SIZE, "write_all hands the whole buffer back");
        stream.close().await.unwrap();
        sends
    });
    let (total, sum) = reader.join().unwrap();
    assert_eq!(total, SIZE);
    assert_eq!(sum, want.value(), "bytes lost, repeated or reordered");
    assert!(
        sends > 1,
        "a 2 MiB write_all through a 4 KiB send buffer took {sends} send; the short-send \
         path was not exercised"
    );
}
