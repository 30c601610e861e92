//! The kv example as a user runs it: the built binary with the README's flags keeps serving
//! (it used to print "listening" and exit at once), answers `redis-cli` and `redis-benchmark`,
//! and on SIGTERM mid-traffic answers every command already sent, closes every connection and
//! exits 0 before its drain deadline with no fd left behind.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const CONNS: usize = 20;
const DRAIN_SECS: u64 = 10;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A client sending `INCR` on its own key, one at a time, until the server closes.
/// Returns (commands answered, a command sent before SIGTERM that got no answer).
fn incr_client(
    port: u16,
    id: usize,
    warm: Arc<Barrier>,
    sigterm_sent: Arc<AtomicBool>,
) -> (i64, Option<String>) {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut writer = s.try_clone().unwrap();
    let mut reader = BufReader::new(s);
    let key = format!("sigterm:{id}");
    let cmd = format!("*2\r\n$4\r\nINCR\r\n${}\r\n{key}\r\n", key.len());
    for n in 1i64.. {
        if n == 6 {
            warm.wait();
        }
        if writer.write_all(cmd.as_bytes()).is_err() {
            assert!(
                sigterm_sent.load(Ordering::SeqCst),
                "write failed before SIGTERM"
            );
            return (n - 1, None);
        }
        let before = !sigterm_sent.load(Ordering::SeqCst);
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => {
                let lost =
                    before.then(|| format!("conn {id}: INCR #{n} sent before SIGTERM, then EOF"));
                return (n - 1, lost);
            }
            Ok(_) => {
                if line != format!(":{n}\r\n") {
                    return (
                        n - 1,
                        Some(format!("conn {id}: INCR #{n} answered {line:?}")),
                    );
                }
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset && !before => return (n - 1, None),
            Err(e) => return (n - 1, Some(format!("conn {id}: INCR #{n}: {e}"))),
        }
        if n > 5_000_000 {
            return (n, Some(format!("conn {id}: the server never closed")));
        }
    }
    unreachable!()
}

#[test]
fn kv_serves_redis_clients_until_sigterm_then_drains_and_exits_0() {
    let _dog = common::watchdog("example_kv_sigterm", Duration::from_secs(300));
    let bin = common::example_binary(
        "kv",
        &[
            "examples/kv/main.rs",
            "examples/kv/server.rs",
            "examples/kv/resp.rs",
            "examples/kv/store.rs",
        ],
    );
    let port = common::free_port();
    let addr = format!("127.0.0.1:{port}");
    let drain = DRAIN_SECS.to_string();
    // The README's command line: --addr 127.0.0.1:6380 --cores 2 (another port, to be free).
    let mut server =
        common::Server::start(&bin, &["--addr", &addr, "--cores", "2", "--drain", &drain]);
    server.wait_line("kv: listening on", Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.is_running(),
        "kv exited right after printing 'listening': {:?}",
        server.seen
    );

    if have("redis-cli") {
        assert_eq!(redis_cli(port, &["set", "hello", "world"]), "OK");
        assert_eq!(redis_cli(port, &["get", "hello"]), "world");
        assert_eq!(redis_cli(port, &["incr", "n"]), "1");
        assert_eq!(redis_cli(port, &["dbsize"]), "2");
    } else {
        eprintln!("note: redis-cli not installed (bash scripts/test.sh installs redis-tools); skipping its part");
    }
    if have("redis-benchmark") {
        let out = Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["-t", "set,get", "-n", "20000", "-c", "10", "-P", "8", "-q"])
            .output()
            .expect("run redis-benchmark");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "redis-benchmark: {out:?}");
        assert!(
            text.contains("SET") && text.contains("GET") && text.contains("requests per second"),
            "redis-benchmark output: {text}"
        );
    } else {
        eprintln!("note: redis-benchmark not installed; skipping its part");
    }

    // SIGTERM mid-traffic.
    let warm = Arc::new(Barrier::new(CONNS + 1));
    let sigterm_sent = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CONNS)
        .map(|id| {
            let (warm, sent) = (warm.clone(), sigterm_sent.clone());
            std::thread::spawn(move || incr_client(port, id, warm, sent))
        })
        .collect();
    warm.wait();
    std::thread::sleep(Duration::from_millis(50));
    sigterm_sent.store(true, Ordering::SeqCst);
    server.signal(libc::SIGTERM);
    let (status, took) = server.wait_exit(Duration::from_secs(60));
    let results: Vec<_> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();

    assert!(
        status.success(),
        "exit status {status:?}; output {:?}",
        server.seen
    );
    assert!(
        took < Duration::from_secs(DRAIN_SECS),
        "exited {took:?} after SIGTERM, not before the {DRAIN_SECS} s drain deadline"
    );
    let lost: Vec<&String> = results.iter().filter_map(|(_, l)| l.as_ref()).collect();
    assert!(lost.is_empty(), "commands lost: {lost:?}");
    assert!(results.iter().all(|(n, _)| *n >= 5));
    server.assert_clean_report("kv");
}
