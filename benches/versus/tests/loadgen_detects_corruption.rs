//! The load generator verifies every echoed byte: an echo server that corrupts one byte after a
//! while must make the run fail with `InvalidData`, and an honest one must pass.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use ringbolt_versus::loadgen::{LoadGen, LoadSpec};

/// A blocking echo server for one connection; flips one byte at stream offset `corrupt_at`.
fn echo_server(corrupt_at: Option<u64>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = vec![0u8; 4096];
        let mut offset = 0u64;
        loop {
            let n = match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if let Some(at) = corrupt_at {
                if (offset..offset + n as u64).contains(&at) {
                    buf[(at - offset) as usize] ^= 0x5a;
                }
            }
            offset += n as u64;
            if s.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
    addr
}

fn run(addr: SocketAddr) -> std::io::Result<ringbolt_versus::loadgen::LoadResult> {
    let spec = LoadSpec {
        addr,
        conns: 1,
        size: 100,
        rate: None,
        cores: vec![],
        spin: false,
        http: false,
    };
    let load = LoadGen::start(&spec)?;
    std::thread::sleep(Duration::from_millis(50));
    load.measure();
    std::thread::sleep(Duration::from_millis(300));
    load.finish()
}

#[test]
fn honest_echo_passes_and_is_counted() {
    let r = run(echo_server(None)).expect("honest server passes");
    assert!(r.round_trips > 0);
    assert!(r.verified_bytes >= r.round_trips * 100);
    assert_eq!(r.hist.count(), r.round_trips);
}

#[test]
fn one_flipped_byte_fails_the_run() {
    let err = run(echo_server(Some(12_345))).expect_err("corruption must be detected");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
}
