//! `examples/echo --handoff`, run as its built binary: every connection a core accepts is
//! served by the next core (`into_std` + `spawn_on` + `from_std`); a connection whose hand-off
//! failed would be dropped unanswered. 16 clients verify every byte; Ctrl-C (SIGINT) stops the
//! server with status 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const BYTES: usize = 64 * 1024;

/// The example binary next to this test's (`target/<profile>/examples/echo`), which
/// `cargo test` builds with the tests.
fn echo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("examples").join("echo");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test` for the whole package (it builds the examples) or \
         `cargo build --release --example echo` first",
        bin.display()
    );
    bin
}

/// Kills the server if the test fails before stopping it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("echo did not start listening on port {port}: {e}"),
        }
    }
}

#[test]
fn handoff_serves_every_connection_and_stops_on_sigint() {
    let port = free_port();
    let child = Command::new(echo_binary())
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--cores", "2", "--recv", "read", "--handoff"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start echo");
    let mut server = Server(child);
    drop(connect(port)); // listening

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            std::thread::spawn(move || {
                let mut s = connect(port);
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let data: Vec<u8> = (0..BYTES).map(|i| (i * 7 + c * 13) as u8).collect();
                let mut w = s.try_clone().unwrap();
                let sent = data.clone();
                let writer = std::thread::spawn(move || {
                    w.write_all(&sent).unwrap();
                    w.shutdown(std::net::Shutdown::Write).unwrap();
                });
                let mut back = Vec::new();
                s.read_to_end(&mut back).unwrap();
                writer.join().unwrap();
                assert_eq!(back.len(), BYTES, "client {c}: short echo");
                assert!(back == data, "client {c}: echoed bytes differ");
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }

    // SAFETY: kill(2) with a valid pid and signal number has no memory-safety preconditions.
    let rc = unsafe { libc::kill(server.0.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "kill failed");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "echo still running 20 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = server.0.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        status.success(),
        "echo exited with {status}; stderr:\n{err}"
    );
    assert!(!err.contains("hand-off failed"), "stderr:\n{err}");
}
