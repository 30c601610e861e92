//! Zero-copy sends deliver every byte in order: 300 messages of random sizes (1 B to 256 KiB)
//! through `send_zc` (resuming short sends), `write_all_zc` and a write half's `write_all_zc`,
//! checked on the receiving side by length and checksum. Each buffer is reused (refilled)
//! right after it comes back, so a buffer handed back before the kernel finished reading it
//! would corrupt the stream.

mod common;

use common::{watchdog, Checksum, Rng};
use ringbolt_net::TcpStream;
use ringbolt_runtime::buf::IoBuf;
use ringbolt_runtime::Runtime;
use std::io::Read;
use std::time::Duration;

const MESSAGES: usize = 300;
const MAX_LEN: u64 = 256 * 1024;

#[test]
fn send_zc_many_messages_arrive_intact() {
    let _w = watchdog(Duration::from_secs(120));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut sum = Checksum::default();
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            sum.update(&buf[..n]);
            total += n;
        }
        (total, sum.value())
    });

    let (sent, want) = Runtime::new().unwrap().block_on(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut rng = Rng::new(7);
        let mut want = Checksum::default();
        let mut total = 0usize;
        let mut buf = Vec::new();
        for i in 0..MESSAGES {
            let len = 1 + rng.below(MAX_LEN) as usize;
            buf.resize(len, 0);
            rng.fill(&mut buf);
            want.update(&buf);
            total += len;
            buf = match i % 2 {
                0 => {
                    let (res, b) = stream.write_all_zc(buf).await;
                    res.unwrap();
                    b
                }
                _ => {
                    // One send_zc at a time, resuming after short sends.
                    let mut done = 0;
                    let mut b = buf;
                    while done < len {
                        let (res, s) = stream.send_zc(b.slice(done..)).await;
                        b = s.into_inner();
                        done += res.unwrap();
                    }
                    b
                }
            };
            assert_eq!(buf.len(), len, "the buffer comes back whole");
        }
        // The same through a write half.
        let (_r, w) = stream.into_split();
        for _ in 0..MESSAGES / 3 {
            let len = 1 + rng.below(MAX_LEN) as usize;
            buf.resize(len, 0);
            rng.fill(&mut buf);
            want.update(&buf);
            total += len;
            let (res, b) = w.write_all_zc(buf).await;
            res.unwrap();
            buf = b;
        }
        (total, want.value())
    });
    let (got, sum) = reader.join().unwrap();
    assert_eq!(got, sent, "byte count");
    assert_eq!(
        sum, want,
        "checksum mismatch: a buffer was reused while the kernel read it"
    );
}
