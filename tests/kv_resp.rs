//! The kv example server, driven with real RESP over TCP: single commands and pipelines, from
//! several connections at once, with keys owned by both cores (so requests cross cores).

#[path = "../examples/kv/resp.rs"]
mod resp;
#[path = "../examples/kv/server.rs"]
mod server;
#[path = "../examples/kv/store.rs"]
mod store;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A reply as the test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum R {
    Status(String),
    Err(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Vec<R>),
}

fn ok() -> R {
    R::Status("OK".into())
}

fn bulk(s: &str) -> R {
    R::Bulk(Some(s.into()))
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Client {
            reader: BufReader::new(s.try_clone().expect("clone")),
            writer: s,
        }
    }

    fn encode(args: &[&str], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    fn cmd(&mut self, args: &[&str]) -> R {
        let mut out = Vec::new();
        Client::encode(args, &mut out);
        self.send_raw(&out);
        self.read()
    }

    fn read(&mut self) -> R {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read reply");
        let line = line.trim_end_matches("\r\n");
        assert!(!line.is_empty(), "the server closed the connection");
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => R::Status(rest.into()),
            "-" => R::Err(rest.into()),
            ":" => R::Int(rest.parse().expect("int")),
            "$" => {
                let n: i64 = rest.parse().expect("bulk len");
                if n < 0 {
                    return R::Bulk(None);
                }
                let mut buf = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut buf).expect("bulk");
                buf.truncate(n as usize);
                R::Bulk(Some(String::from_utf8(buf).expect("utf8")))
            }
            "*" => {
                let n: usize = rest.parse().expect("array len");
                R::Array((0..n).map(|_| self.read()).collect())
            }
            other => panic!("unexpected reply type {other:?} in {line:?}"),
        }
    }
}

/// Keys spread over both cores, so some requests are always forwarded.
fn keys(n: usize) -> Vec<String> {
    let keys: Vec<String> = (0..n).map(|i| format!("key:{i}")).collect();
    let on_core_1 = keys
        .iter()
        .filter(|k| store::shard_of(k.as_bytes(), 2) == 1)
        .count();
    assert!(
        on_core_1 > 0 && on_core_1 < n,
        "keys must land on both cores"
    );
    keys
}

#[test]
fn kv_over_resp() {
    let server = server::start_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        server::Options::new(2),
    )
    .expect("start");
    let addr = server.addr();

    single_commands(addr);
    pipelined(addr);
    concurrent_connections(addr);
    connection_churn(addr);
    protocol_error_closes(addr);

    server.shutdown().trigger();
    server.join().expect("server stopped cleanly");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "nothing listens after stop"
    );
}

fn single_commands(addr: SocketAddr) {
    let mut c = Client::connect(addr);
    assert_eq!(c.cmd(&["PING"]), R::Status("PONG".into()));
    assert_eq!(c.cmd(&["ping", "hi"]), bulk("hi"));
    assert_eq!(c.cmd(&["COMMAND", "DOCS"]), R::Array(vec![]));
    assert_eq!(c.cmd(&["FLUSHALL"]), ok());
    let ks = keys(20);
    for k in &ks {
        assert_eq!(c.cmd(&["SET", k, &format!("v-{k}")]), ok());
    }
    for k in &ks {
        assert_eq!(c.cmd(&["GET", k]), bulk(&format!("v-{k}")));
    }
    assert_eq!(c.cmd(&["DBSIZE"]), R::Int(20));
    assert_eq!(c.cmd(&["GET", "missing"]), R::Bulk(None));
    assert_eq!(c.cmd(&["EXISTS", &ks[0], &ks[1], "missing"]), R::Int(2));
    assert_eq!(c.cmd(&["DEL", &ks[0], &ks[1], "missing"]), R::Int(2));
    assert_eq!(c.cmd(&["EXISTS", &ks[0]]), R::Int(0));
    assert_eq!(c.cmd(&["INCR", "n"]), R::Int(1));
    assert_eq!(c.cmd(&["INCR", "n"]), R::Int(2));
    assert!(matches!(c.cmd(&["INCR", &ks[2]]), R::Err(e) if e.contains("not an integer")));
    assert_eq!(
        c.cmd(&["MSET", &ks[0], "a", &ks[1], "b", &ks[3], "c"]),
        ok()
    );
    assert_eq!(
        c.cmd(&["MGET", &ks[0], "missing", &ks[1], &ks[3]]),
        R::Array(vec![bulk("a"), R::Bulk(None), bulk("b"), bulk("c")])
    );
    assert_eq!(c.cmd(&["SET", "ttl", "x", "PX", "50"]), ok());
    assert_eq!(c.cmd(&["SET", "ttl2", "x", "EX", "100"]), ok());
    assert_eq!(c.cmd(&["GET", "ttl"]), bulk("x"));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(c.cmd(&["GET", "ttl"]), R::Bulk(None));
    assert_eq!(c.cmd(&["GET", "ttl2"]), bulk("x"));
    assert!(matches!(c.cmd(&["SET", "k", "v", "EX", "0"]), R::Err(e) if e.contains("expire")));
    assert!(matches!(c.cmd(&["GET"]), R::Err(e) if e.contains("wrong number")));
    assert!(matches!(c.cmd(&["NOPE"]), R::Err(e) if e.contains("unknown command")));
    // Inline commands work too.
    c.send_raw(b"SET inline yes\r\nGET inline\r\n");
    assert_eq!(c.read(), ok());
    assert_eq!(c.read(), bulk("yes"));
    assert_eq!(c.cmd(&["FLUSHALL"]), ok());
    assert_eq!(c.cmd(&["DBSIZE"]), R::Int(0));
}

fn pipelined(addr: SocketAddr) {
    let mut c = Client::connect(addr);
    let ks = keys(500);
    let mut out = Vec::new();
    for (i, k) in ks.iter().enumerate() {
        Client::encode(&["SET", k, &i.to_string()], &mut out);
        Client::encode(&["INCR", k], &mut out);
        Client::encode(&["GET", k], &mut out);
        Client::encode(&["INCR", "pipelined-counter"], &mut out);
    }
    Client::encode(&["MGET", &ks[0], &ks[1], &ks[499]], &mut out);
    Client::encode(&["DBSIZE"], &mut out);
    // Split the pipeline at awkward places so commands straddle reads.
    for chunk in out.chunks(777) {
        c.send_raw(chunk);
    }
    for i in 0..ks.len() {
        assert_eq!(c.read(), ok(), "SET #{i}");
        assert_eq!(c.read(), R::Int(i as i64 + 1), "INCR #{i}");
        assert_eq!(c.read(), bulk(&(i + 1).to_string()), "GET #{i}");
        assert_eq!(c.read(), R::Int(i as i64 + 1), "counter #{i}");
    }
    assert_eq!(c.read(), R::Array(vec![bulk("1"), bulk("2"), bulk("500")]));
    assert_eq!(c.read(), R::Int(501));
}

fn concurrent_connections(addr: SocketAddr) {
    const CONNS: usize = 8;
    const PER: usize = 300;
    let threads: Vec<_> = (0..CONNS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                let mut out = Vec::new();
                for i in 0..PER {
                    Client::encode(&["INCR", "shared"], &mut out);
                    Client::encode(&["SET", &format!("t{t}:{i}"), &i.to_string()], &mut out);
                }
                c.send_raw(&out);
                for _ in 0..PER {
                    assert!(matches!(c.read(), R::Int(_)));
                    assert_eq!(c.read(), ok());
                }
                for i in (0..PER).step_by(37) {
                    assert_eq!(c.cmd(&["GET", &format!("t{t}:{i}")]), bulk(&i.to_string()));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let mut c = Client::connect(addr);
    assert_eq!(c.cmd(&["GET", "shared"]), bulk(&(CONNS * PER).to_string()));
}

/// Connections opening while others close: none may be dropped by the server (a dropped
/// in-flight accept would close a connection the kernel had already accepted).
fn connection_churn(addr: SocketAddr) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..150 {
                    let mut c = Client::connect(addr);
                    let key = format!("churn:{t}:{i}");
                    assert_eq!(c.cmd(&["SET", &key, "1"]), ok(), "connection {t}/{i}");
                    assert_eq!(c.cmd(&["GET", &key]), bulk("1"), "connection {t}/{i}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("churn thread");
    }
}

fn protocol_error_closes(addr: SocketAddr) {
    let mut c = Client::connect(addr);
    c.send_raw(b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n");
    assert_eq!(c.read(), R::Status("PONG".into()));
    assert!(matches!(c.read(), R::Err(e) if e.contains("Protocol error")));
    let mut rest = Vec::new();
    let n = c.reader.read_to_end(&mut rest).expect("closed");
    assert_eq!(n, 0, "the server closed the connection");
}

/// Runs a command with a time limit; `None` if the tool is not installed.
fn run_tool(cmd: &str, args: &[String], limit: Duration) -> Option<std::process::Output> {
    let child = std::process::Command::new(cmd)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("{cmd}: {e}"),
    };
    let start = std::time::Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd} {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().expect("output"))
}

#[test]
fn redis_tools_against_kv() {
    let server = server::start_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        server::Options::new(2),
    )
    .expect("start");
    let port = server.addr().port().to_string();
    let cli = |args: &[&str]| {
        let mut all = vec!["-p".to_owned(), port.clone()];
        all.extend(args.iter().map(|s| s.to_string()));
        run_tool("redis-cli", &all, Duration::from_secs(20))
    };
    match cli(&["set", "tool", "works"]) {
        None => eprintln!("redis-cli not installed (Debian package redis-tools): skipped"),
        Some(out) => {
            assert!(out.status.success(), "redis-cli failed: {out:?}");
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
            let out = cli(&["get", "tool"]).expect("redis-cli");
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "works");
            let out = cli(&["mget", "tool", "nope"]).expect("redis-cli");
            assert_eq!(String::from_utf8_lossy(&out.stdout), "works\n\n");
        }
    }
    let bench_args: Vec<String> = ["-p", &port, "-t", "set,get", "-n", "20000", "-c", "10"]
        .iter()
        .chain(&["-P", "16", "-q"])
        .map(|s| s.to_string())
        .collect();
    match run_tool("redis-benchmark", &bench_args, Duration::from_secs(60)) {
        None => eprintln!("redis-benchmark not installed (Debian package redis-tools): skipped"),
        Some(out) => {
            let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
            assert!(out.status.success(), "redis-benchmark failed: {text}");
            for t in ["SET", "GET"] {
                assert!(
                    text.lines()
                        .any(|l| l.starts_with(&format!("{t}: "))
                            && l.contains("requests per second")),
                    "no {t} result in: {text}"
                );
            }
            let mut c = Client::connect(server.addr());
            assert!(
                matches!(c.cmd(&["DBSIZE"]), R::Int(n) if n >= 1),
                "redis-benchmark's SETs are stored"
            );
        }
    }
    server.shutdown().trigger();
    server.join().expect("server stopped cleanly");
}
