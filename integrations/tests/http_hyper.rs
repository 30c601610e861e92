//! hyper client <-> hyper server, both on ringbolt through the readiness path
//! (`examples/http`'s service): 1,000 requests over 16 keep-alive connections, HTTP/1.1 and h2c,
//! every body verified; and the built example binary driven over HTTPS and stopped by SIGTERM.

#[path = "../../net/tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../examples/http/server.rs"]
mod server;

use bytes::Bytes;
use common::watchdog;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use ringbolt::net::compat::HyperExecutor;
use ringbolt::net::TcpStream;
use ringbolt::Runtime;
use std::net::SocketAddr;
use std::time::Duration;

const CONNECTIONS: usize = 16;
const REQUESTS: usize = 1000;

/// A request sender over one connection, HTTP/1.1 or HTTP/2, on any hyper I/O.
enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    async fn connect<I>(io: I, h2: bool) -> Sender
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    {
        if h2 {
            let (send, conn) = hyper::client::conn::http2::handshake(HyperExecutor, io)
                .await
                .expect("h2 handshake");
            ringbolt::spawn(conn);
            Sender::H2(send)
        } else {
            let (send, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .expect("http1 handshake");
            ringbolt::spawn(conn);
            Sender::H1(send)
        }
    }

    async fn send(&mut self, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
        let res = match self {
            Sender::H1(s) => {
                s.ready().await.expect("connection ready");
                s.send_request(req).await
            }
            Sender::H2(s) => {
                s.ready().await.expect("connection ready");
                s.send_request(req).await
            }
        }
        .expect("response");
        let status = res.status();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, body)
    }
}

/// The request number `i`: a GET of the fixed body, or an echo of a body whose size and bytes
/// depend on `i`.
fn request(i: usize) -> (Request<Full<Bytes>>, Bytes) {
    if i % 2 == 0 {
        let req = Request::get("/").body(Full::new(Bytes::new())).unwrap();
        (req, Bytes::from_static(server::HELLO))
    } else {
        let len = (i * 7919) % 70_000;
        let body: Bytes = (0..len)
            .map(|j| (i + j * 31) as u8)
            .collect::<Vec<u8>>()
            .into();
        let req = Request::builder()
            .method(Method::POST)
            .uri("/echo")
            .body(Full::new(body.clone()))
            .unwrap();
        (req, body)
    }
}

/// Runs [`REQUESTS`] requests over [`CONNECTIONS`] connections to `addr`, verifying each.
fn drive(addr: SocketAddr, h2: bool, tls: Option<tokio_rustls::TlsConnector>) -> usize {
    Runtime::new().unwrap().block_on(async move {
        let mut tasks = Vec::new();
        for c in 0..CONNECTIONS {
            let tls = tls.clone();
            tasks.push(ringbolt::spawn(async move {
                let stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).unwrap();
                let io = stream.into_poll_io();
                let mut sender = match tls {
                    None => Sender::connect(io, h2).await,
                    Some(tls) => {
                        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                        let tls = tls.connect(name, io).await.expect("TLS handshake");
                        Sender::connect(hyper_util::rt::TokioIo::new(tls), h2).await
                    }
                };
                let mut done = 0;
                for i in (c..REQUESTS).step_by(CONNECTIONS) {
                    let (req, want) = request(i);
                    let (status, body) = sender.send(req).await;
                    assert_eq!(status, StatusCode::OK, "request {i}");
                    assert!(
                        body == want,
                        "request {i}: body of {} bytes differs",
                        body.len()
                    );
                    done += 1;
                }
                done
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("client task");
        }
        total
    })
}

/// Serves `examples/http`'s service on a runtime thread; returns its address.
fn spawn_server(cfg: server::Config) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        Runtime::new().unwrap().block_on(async move {
            let listener = server::bind_reuseport("127.0.0.1:0".parse().unwrap()).unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let _ = server::accept_loop(listener, cfg).await;
        })
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("server up")
}

#[test]
fn http1_1000_requests_over_16_connections() {
    let _w = watchdog(Duration::from_secs(120));
    let addr = spawn_server(server::Config::default());
    assert_eq!(drive(addr, false, None), REQUESTS);
}

#[test]
fn h2c_1000_requests_over_16_connections() {
    let _w = watchdog(Duration::from_secs(120));
    let addr = spawn_server(server::Config {
        h2: true,
        tls: None,
    });
    assert_eq!(drive(addr, true, None), REQUESTS);
}

#[test]
fn unknown_path_is_404() {
    let _w = watchdog(Duration::from_secs(60));
    let addr = spawn_server(server::Config::default());
    Runtime::new().unwrap().block_on(async move {
        let io = TcpStream::connect(addr).await.unwrap().into_poll_io();
        let mut sender = Sender::connect(io, false).await;
        let req = Request::get("/nope").body(Full::new(Bytes::new())).unwrap();
        let (status, _) = sender.send(req).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    });
}

#[test]
fn metrics_route_serves_prometheus_text() {
    let _w = watchdog(Duration::from_secs(60));
    // A server core with metrics on, as the example runs it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = Runtime::builder().metrics(true).build().unwrap();
        rt.block_on(async move {
            let listener = server::bind_reuseport("127.0.0.1:0".parse().unwrap()).unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let _ = server::accept_loop(listener, server::Config::default()).await;
        })
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).expect("server up");
    Runtime::new().unwrap().block_on(async move {
        let io = TcpStream::connect(addr).await.unwrap().into_poll_io();
        let mut sender = Sender::connect(io, false).await;
        let req = Request::get("/metrics")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, body) = sender.send(req).await;
        assert_eq!(status, StatusCode::OK);
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.contains("# TYPE ringbolt_"), "{text}");
    });
}

/// The example as a product: the built binary with the flags its doc shows (`--cores 2
/// --tls --cert-out`), driven over HTTPS by the hyper client, stopped by SIGTERM.
#[test]
fn example_binary_serves_https_and_stops_on_sigterm() {
    let _w = watchdog(Duration::from_secs(120));
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/http");
    if !bin.exists() {
        panic!("{} not built; `cargo test` builds examples", bin.display());
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = std::env::temp_dir().join(format!("ringbolt-http-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert_path = dir.join("cert.der");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = std::process::Command::new(&bin)
        .args([
            "--addr",
            &addr.to_string(),
            "--cores",
            "2",
            "--tls",
            "--cert-out",
        ])
        .arg(&cert_path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the listening line.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(
        line.contains("listening on https://"),
        "first line: {line:?}"
    );
    let cert = std::fs::read(&cert_path).unwrap();
    let connector = client_tls(&cert);
    let served = drive(addr, false, Some(connector));
    assert_eq!(served, REQUESTS);
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rustls client config (ring provider) that trusts exactly `cert_der`.
fn client_tls(cert_der: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der.to_vec().into()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}
