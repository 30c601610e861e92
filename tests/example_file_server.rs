//! The `file_server` example as its built binary, with the flags its doc comment shows, in
//! both modes: whole files byte for byte, 404, 405, `..` refused, several clients at once,
//! then stopped by SIGTERM.

mod common;

use common::{example_bin, free_addr, Running};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

struct Server {
    _running: Running,
    addr: SocketAddr,
}

fn start(root: &std::path::Path, mode: &str) -> Server {
    let addr = free_addr();
    let child = Command::new(example_bin("file_server"))
        .args([
            "--root",
            root.to_str().unwrap(),
            "--addr",
            &addr.to_string(),
        ])
        .args(["--mode", mode])
        .spawn()
        .expect("run the file_server example (built by cargo test)");
    let server = Server {
        _running: Running(child),
        addr,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "file_server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// One GET: (status line, body).
fn get(addr: SocketAddr, request: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read response");
    let head_end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&all[..head_end]).to_string();
    let body = all[head_end + 4..].to_vec();
    let status = head.lines().next().unwrap_or("").to_string();
    if status.contains("200") {
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("Content-Length")
            .parse()
            .unwrap();
        assert_eq!(len, body.len(), "Content-Length matches the body");
    }
    (status, body)
}

#[test]
fn file_server_serves_files_in_both_modes() {
    let root = std::env::temp_dir().join(format!("ringbolt-fs-example-{}", std::process::id()));
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 77u32)
        .map(|i| (i * 7 % 253) as u8)
        .collect();
    std::fs::write(root.join("sub/big.bin"), &big).unwrap();
    std::fs::write(root.join("index.html"), b"<h1>hi</h1>").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    for mode in ["splice", "copy"] {
        let server = start(&root, mode);
        let addr = server.addr;
        let (status, body) = get(addr, "GET /sub/big.bin HTTP/1.0\r\nHost: x\r\n\r\n");
        assert!(status.contains("200"), "{mode}: {status}");
        assert!(body == big, "{mode}: body differs");
        let (status, body) = get(addr, "GET /index.html?x=1 HTTP/1.1\r\n\r\n");
        assert!(status.contains("200"));
        assert_eq!(body, b"<h1>hi</h1>");
        let (status, body) = get(addr, "GET /empty HTTP/1.0\r\n\r\n");
        assert!(status.contains("200") && body.is_empty());
        assert!(get(addr, "GET /missing HTTP/1.0\r\n\r\n").0.contains("404"));
        assert!(get(addr, "GET /sub HTTP/1.0\r\n\r\n").0.contains("404"));
        assert!(get(addr, "GET /../etc/passwd HTTP/1.0\r\n\r\n")
            .0
            .contains("400"));
        assert!(get(addr, "POST /index.html HTTP/1.0\r\n\r\n")
            .0
            .contains("405"));
        // Several clients at once.
        let clients: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || get(addr, "GET /sub/big.bin HTTP/1.0\r\n\r\n").1.len())
            })
            .collect();
        for c in clients {
            assert_eq!(c.join().unwrap(), big.len());
        }
        drop(server);
    }
    std::fs::remove_dir_all(&root).unwrap();
}
