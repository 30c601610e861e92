//! UDP: 10,000 datagrams of random sizes (0..=65,507 bytes, many larger than the 16 KiB
//! receive buffer): every size, truncation flag, sender and payload prefix reported correctly.

mod common;

use common::{watchdog, Rng};
use ringbolt_net::UdpSocket;
use ringbolt_runtime::Runtime;
use std::time::Duration;

const COUNT: usize = 10_000;
const RECV_BUF: usize = 16 * 1024;
const MAX_UDP: u64 = 65_507;
/// Datagrams in flight at once, kept small enough for the default socket receive buffer.
const WINDOW: usize = 2;

#[test]
fn sizes_and_truncation_reported() {
    let _w = watchdog(Duration::from_secs(60));
    Runtime::new().unwrap().block_on(async {
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_recv_buffer_size(1 << 20).unwrap();
        let rx_addr = rx.local_addr().unwrap();
        let tx_addr = tx.local_addr().unwrap();
        let mut rng = Rng::new(99);
        let mut truncated = 0;
        let mut rbuf = vec![0u8; RECV_BUF];
        let mut i = 0;
        while i < COUNT {
            let mut batch = Vec::new();
            for _ in 0..WINDOW.min(COUNT - i) {
                // Edge sizes first, then random ones.
                let len = match i + batch.len() {
                    0 => 0,
                    1 => RECV_BUF,
                    2 => RECV_BUF + 1,
                    3 => MAX_UDP as usize,
                    _ => rng.below(MAX_UDP + 1) as usize,
                };
                let mut msg = rng.bytes(len);
                if len >= 8 {
                    msg[..8].copy_from_slice(&((i + batch.len()) as u64).to_le_bytes());
                }
                let (res, msg) = tx.send_to(msg, rx_addr).await;
                assert_eq!(res.unwrap(), len);
                batch.push(msg);
            }
            for msg in batch {
                let (res, buf) = rx.recv_msg(rbuf).await;
                let meta = res.unwrap_or_else(|e| panic!("datagram {i}: {e}"));
                assert_eq!(meta.datagram_len, msg.len(), "datagram {i}: size");
                assert_eq!(
                    meta.len,
                    msg.len().min(RECV_BUF),
                    "datagram {i}: bytes placed"
                );
                assert_eq!(
                    meta.is_truncated(),
                    msg.len() > RECV_BUF,
                    "datagram {i}: flag"
                );
                assert_eq!(meta.addr, tx_addr);
                assert!(buf[..meta.len] == msg[..meta.len], "datagram {i}: payload");
                truncated += usize::from(meta.is_truncated());
                rbuf = buf;
                i += 1;
            }
        }
        assert!(
            truncated > COUNT / 2,
            "too few truncated datagrams: {truncated}"
        );
        assert_eq!(ringbolt_runtime::stats().ops_in_flight, 0);
    });
}
