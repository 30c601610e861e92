//! The load generator's HTTP mode parses and checks every response: a server that answers
//! correctly passes and is counted; one whose body goes wrong after a while, or that answers
//! with another status, fails the run with `InvalidData`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use ringbolt_versus::loadgen::{LoadGen, LoadSpec};
use ringbolt_versus::servers::http::BODY;

/// A blocking HTTP/1.1 server for one keep-alive connection: answers every `GET` with
/// `status` and [`BODY`], except that response number `bad_at` gets a body with one byte
/// changed.
fn server(status: &'static str, bad_at: Option<u64>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut pending = Vec::new();
        let mut buf = [0u8; 4096];
        let mut served = 0u64;
        loop {
            let n = match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                pending.drain(..end + 4);
                let mut body = BODY.to_vec();
                if bad_at == Some(served) {
                    body[3] ^= 0x20;
                }
                let mut res = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\ndate: now\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                res.extend_from_slice(&body);
                if s.write_all(&res).is_err() {
                    return;
                }
                served += 1;
            }
        }
    });
    addr
}

fn run(addr: SocketAddr) -> std::io::Result<ringbolt_versus::loadgen::LoadResult> {
    let spec = LoadSpec {
        addr,
        conns: 1,
        size: BODY.len(),
        rate: None,
        cores: vec![],
        spin: false,
        http: true,
    };
    let load = LoadGen::start(&spec)?;
    std::thread::sleep(Duration::from_millis(50));
    load.measure();
    std::thread::sleep(Duration::from_millis(300));
    load.finish()
}

#[test]
fn correct_responses_pass_and_are_counted() {
    let r = run(server("200 OK", None)).expect("a correct server passes");
    assert!(r.round_trips > 0);
    assert!(r.verified_bytes >= r.round_trips * BODY.len() as u64);
    assert_eq!(r.hist.count(), r.round_trips);
}

#[test]
fn a_wrong_body_fails_the_run() {
    let err = run(server("200 OK", Some(200))).expect_err("a wrong body must be detected");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
}

#[test]
fn a_wrong_status_fails_the_run() {
    let err = run(server("500 Internal Server Error", None)).expect_err("status checked");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
}
