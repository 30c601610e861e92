//! The `proxy` example as its built binary, with the flags its doc comment shows, in front of
//! a TCP and a Unix upstream: bytes relayed both ways and the client's half-close passed
//! through (the upstream answers only after end of stream); stopped by SIGTERM.

mod common;

use common::{example_bin, free_addr, Running};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

struct Proxy {
    _running: Running,
    addr: SocketAddr,
}

fn start(upstream: &str) -> Proxy {
    let addr = free_addr();
    let child = Command::new(example_bin("proxy"))
        .args(["--listen", &addr.to_string(), "--upstream", upstream])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run the proxy example (built by cargo test)");
    Proxy {
        _running: Running(child),
        addr,
    }
}

/// What the upstream does per connection: read the request to end of stream, then answer
/// with it reversed plus a trailer, then close.
fn answer(mut s: impl Read + Write) {
    let mut req = Vec::new();
    s.read_to_end(&mut req).unwrap();
    req.reverse();
    req.extend_from_slice(b"<end>");
    s.write_all(&req).unwrap();
}

/// Connects through the proxy (retrying until it listens), sends, half-closes, reads all.
fn round_trip(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("proxy not listening: {e}"),
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("response to end of stream (no hang)");
    out
}

fn expected(request: &[u8]) -> Vec<u8> {
    let mut want: Vec<u8> = request.iter().rev().copied().collect();
    want.extend_from_slice(b"<end>");
    want
}

#[test]
fn proxy_relays_to_tcp_and_unix_upstreams_with_half_close() {
    let request: Vec<u8> = (0..1_500_000u32).map(|i| (i % 241) as u8).collect();

    // TCP upstream.
    let up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (s, _) = up.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            answer(s);
        }
    });
    let proxy = start(&up_addr.to_string());
    for _ in 0..2 {
        assert!(round_trip(proxy.addr, &request) == expected(&request));
    }
    server.join().unwrap();
    drop(proxy);

    // Unix upstream.
    let path = std::env::temp_dir().join(format!("ringbolt-proxy-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let up = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = up.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        answer(s);
    });
    let proxy = start(&format!("unix:{}", path.display()));
    assert!(round_trip(proxy.addr, b"hello unix") == expected(b"hello unix"));
    server.join().unwrap();
    drop(proxy);
    std::fs::remove_file(&path).unwrap();
}
