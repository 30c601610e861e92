//! TLS over ringbolt TCP: rustls (ring provider) through `tokio-rustls` on the readiness path
//! (`PollIo`). Handshake with a certificate made at run time (rcgen), 64 MiB each way at once
//! byte-verified (timed against the same transfer without TLS), and a peer that closes in the
//! middle of a record makes the reader fail instead of hang.

// net's test helpers (watchdog, seeded Rng).
#[path = "../../net/tests/common/mod.rs"]
mod common;

use common::{watchdog, Rng};
use ringbolt::net::compat::PollIo;
use ringbolt::net::{TcpListener, TcpStream};
use ringbolt::Runtime;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const EACH_WAY: usize = 64 << 20;
const PATTERN_LEN: usize = 1_000_003;

struct Certs {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn certs() -> Certs {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let der = cert.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone().into()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.into()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Certs {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

fn server_name() -> rustls::pki_types::ServerName<'static> {
    rustls::pki_types::ServerName::try_from("localhost").unwrap()
}

/// A connected pair of readiness streams on the current runtime.
async fn pair() -> (PollIo<TcpStream>, PollIo<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = ringbolt::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    let client = connect.await.unwrap();
    (client.into_poll_io(), server.into_poll_io())
}

#[test]
fn handshake_and_small_exchange() {
    let _w = watchdog(Duration::from_secs(60));
    let certs = certs();
    Runtime::new().unwrap().block_on(async move {
        let (client, server) = pair().await;
        let acceptor = tokio_rustls::TlsAcceptor::from(certs.server);
        let srv = ringbolt::spawn(async move {
            let mut tls = acceptor.accept(server).await.expect("server handshake");
            let mut buf = [0u8; 5];
            tls.read_exact(&mut buf).await.unwrap();
            tls.write_all(&buf.map(|b| b.to_ascii_uppercase()))
                .await
                .unwrap();
            tls.shutdown().await.unwrap();
        });
        let connector = tokio_rustls::TlsConnector::from(certs.client);
        let mut tls = connector
            .connect(server_name(), client)
            .await
            .expect("client handshake");
        let (_, conn) = tls.get_ref();
        assert_eq!(
            conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        tls.write_all(b"hello").await.unwrap();
        let mut back = Vec::new();
        tls.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"HELLO");
        srv.await.unwrap();
    });
}

/// Writes `EACH_WAY` bytes of `pattern` and reads `EACH_WAY` bytes checking them, at once, over
/// `io`; returns when both are done.
async fn both_ways<S>(io: S, pattern: Arc<Vec<u8>>)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let p = pattern.clone();
    let writer = ringbolt::spawn(async move {
        let mut sent = 0;
        while sent < EACH_WAY {
            let at = sent % PATTERN_LEN;
            let len = (EACH_WAY - sent).min(PATTERN_LEN - at).min(256 * 1024);
            wr.write_all(&p[at..at + len]).await.unwrap();
            sent += len;
        }
        wr.flush().await.unwrap();
        wr
    });
    let mut buf = vec![0u8; 128 * 1024];
    let mut got = 0;
    while got < EACH_WAY {
        let n = rd.read(&mut buf).await.unwrap();
        assert!(n > 0, "end of stream after {got} bytes");
        let mut off = 0;
        while off < n {
            let at = (got + off) % PATTERN_LEN;
            let len = (n - off).min(PATTERN_LEN - at);
            assert!(
                buf[off..off + len] == pattern[at..at + len],
                "bytes differ near {}",
                got + off
            );
            off += len;
        }
        got += n;
    }
    let wr = writer.await.unwrap();
    drop(rd.unsplit(wr));
}

fn transfer(tls: bool) -> Duration {
    let mut pattern = vec![0u8; PATTERN_LEN];
    Rng::new(11).fill(&mut pattern);
    let pattern = Arc::new(pattern);
    let certs = certs();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let p = pattern.clone();
    let server_cfg = certs.server.clone();
    let server = std::thread::spawn(move || {
        Runtime::new().unwrap().block_on(async move {
            let listener = TcpListener::from_std(listener);
            let (stream, _) = listener.accept().await.unwrap();
            let io = stream.into_poll_io();
            if tls {
                let tls = tokio_rustls::TlsAcceptor::from(server_cfg)
                    .accept(io)
                    .await
                    .unwrap();
                both_ways(tls, p).await;
            } else {
                both_ways(io, p).await;
            }
        })
    });
    let start = Instant::now();
    Runtime::new().unwrap().block_on(async move {
        let io = TcpStream::connect(addr).await.unwrap().into_poll_io();
        if tls {
            let connector = tokio_rustls::TlsConnector::from(certs.client);
            let tls = connector.connect(server_name(), io).await.unwrap();
            both_ways(tls, pattern).await;
        } else {
            both_ways(io, pattern).await;
        }
    });
    server.join().unwrap();
    start.elapsed()
}

#[test]
fn sixty_four_mib_each_way_byte_identical() {
    let _w = watchdog(Duration::from_secs(120));
    let with_tls = transfer(true);
    let plain = transfer(false);
    eprintln!(
        "64 MiB each way at once: TLS (rustls/ring, tokio-rustls over PollIo) {with_tls:?}, plain PollIo {plain:?} ({:.1}x)",
        with_tls.as_secs_f64() / plain.as_secs_f64()
    );
}

#[test]
fn peer_closing_mid_record_is_an_error_not_a_hang() {
    let _w = watchdog(Duration::from_secs(60));
    let certs = certs();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client_cfg = certs.client.clone();
    // A blocking rustls client: handshake, one whole record, then half a record and close.
    let client = std::thread::spawn(move || {
        let mut sock = std::net::TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut conn = rustls::ClientConnection::new(client_cfg, server_name()).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).unwrap();
        }
        conn.writer().write_all(b"whole").unwrap();
        while conn.wants_write() {
            conn.write_tls(&mut sock).unwrap();
        }
        // An application-data record header that promises 1000 bytes, then only 100.
        let mut partial = vec![0x17, 0x03, 0x03, 0x03, 0xe8];
        partial.extend_from_slice(&[0xab; 100]);
        sock.write_all(&partial).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        sock.shutdown(std::net::Shutdown::Both).unwrap();
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest);
    });
    let start = Instant::now();
    let res = Runtime::new().unwrap().block_on(async move {
        let listener = TcpListener::from_std(listener);
        let (stream, _) = listener.accept().await.unwrap();
        let mut tls = tokio_rustls::TlsAcceptor::from(certs.server)
            .accept(stream.into_poll_io())
            .await
            .expect("handshake");
        let mut whole = [0u8; 5];
        tls.read_exact(&mut whole).await.unwrap();
        assert_eq!(&whole, b"whole");
        let mut buf = [0u8; 2048];
        ringbolt::time::timeout(Duration::from_secs(20), tls.read(&mut buf)).await
    });
    client.join().unwrap();
    let res = res.expect("the read hung instead of failing");
    let err = res.expect_err("a truncated record must be an error");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    assert!(start.elapsed() < Duration::from_secs(20));
}
