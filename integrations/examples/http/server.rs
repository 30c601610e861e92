//! The HTTP service and connection driver of `examples/http`: hyper on ringbolt through the
//! readiness path (`PollIo`), HTTP/1.1 with keep-alive or HTTP/2 over cleartext (h2c), plain
//! or TLS (rustls through `tokio-rustls`). Shared with the tests, which include this file.

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use ringbolt::net::compat::{HyperExecutor, HyperTimer};
use ringbolt::net::{TcpListener, TcpSocket, TcpStream};
use ringbolt::sync::CancellationToken;
use ringbolt::task::{select, Either as Select};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

/// The fixed body of `GET /`.
pub const HELLO: &[u8] = b"Hello from ringbolt!\n";

/// How a server speaks.
#[derive(Clone, Default)]
pub struct Config {
    /// HTTP/2 with prior knowledge (h2c, or h2 over TLS) instead of HTTP/1.1.
    pub h2: bool,
    /// TLS, with this rustls configuration.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// The response body: the fixed body, or the request body streamed back.
pub type Body = Either<Full<Bytes>, Incoming>;

/// `GET /` answers [`HELLO`]; `POST /echo` streams the request body back; `GET /metrics` gives
/// the runtime's metrics in Prometheus text format; anything else 404.
pub async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let res = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(Either::Left(Full::new(Bytes::from_static(HELLO)))),
        (&Method::POST, "/echo") => Response::new(Either::Right(req.into_body())),
        // Every core's counters and histograms, Prometheus text format (the example turns
        // metrics on; without `Builder::metrics(true)` only the counters move).
        (&Method::GET, "/metrics") => Response::new(Either::Left(Full::new(Bytes::from(
            ringbolt::metrics::render(),
        )))),
        _ => {
            let mut res =
                Response::new(Either::Left(Full::new(Bytes::from_static(b"not found\n"))));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    };
    Ok(res)
}

/// Binds one listener of the per-core group on `addr`: `SO_REUSEPORT`, so every core binds the
/// same address and the kernel spreads connections over them. The only place the example asks
/// for port sharing.
pub fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
    let sock = TcpSocket::for_addr(addr)?;
    sock.set_reuseaddr(true)?;
    sock.set_reuseport(true)?;
    sock.set_nodelay(true)?; // accepted connections inherit it
    sock.bind(addr)?;
    sock.listen(1024)
}

/// Serves one connection until the client closes it, or, once `token` is cancelled, until hyper
/// has finished the requests in flight (graceful shutdown: no new request is read, keep-alive
/// ends, HTTP/2 sends GOAWAY).
pub async fn serve_conn_until(
    stream: TcpStream,
    cfg: &Config,
    token: CancellationToken,
) -> Result<(), Box<dyn std::error::Error>> {
    let io = stream.into_poll_io();
    match &cfg.tls {
        None => serve_io(io, cfg.h2, token).await,
        Some(acceptor) => {
            let tls = acceptor.accept(io).await?;
            serve_io(hyper_util::rt::TokioIo::new(tls), cfg.h2, token).await
        }
    }
}

async fn serve_io<I>(
    io: I,
    h2: bool,
    token: CancellationToken,
) -> Result<(), Box<dyn std::error::Error>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
{
    if h2 {
        let conn = hyper::server::conn::http2::Builder::new(HyperExecutor)
            .timer(HyperTimer)
            .serve_connection(io, service_fn(handle));
        let mut conn = pin!(conn);
        if let Select::Left(res) = select(conn.as_mut(), token.cancelled()).await {
            return Ok(res?);
        }
        conn.as_mut().graceful_shutdown();
        conn.await?;
    } else {
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(HyperTimer)
            .keep_alive(true)
            .serve_connection(io, service_fn(handle));
        let mut conn = pin!(conn);
        if let Select::Left(res) = select(conn.as_mut(), token.cancelled()).await {
            return Ok(res?);
        }
        conn.as_mut().graceful_shutdown();
        conn.await?;
    }
    Ok(())
}

/// Accepts on `listener` and serves each connection in its own task on this core, forever.
#[allow(dead_code)] // used by tests/http_hyper.rs, which includes this file
pub async fn accept_loop(listener: TcpListener, cfg: Config) -> io::Result<()> {
    accept_until(listener, cfg, CancellationToken::new()).await
}

/// Accepts on `listener` until `token` is cancelled, serving each connection in its own task on
/// this core; those tasks then finish their requests in flight (see [`serve_conn_until`]).
pub async fn accept_until(
    listener: TcpListener,
    cfg: Config,
    token: CancellationToken,
) -> io::Result<()> {
    let cfg = std::rc::Rc::new(cfg);
    loop {
        let (stream, _) = match select(listener.accept(), token.cancelled()).await {
            Select::Left(accepted) => accepted?,
            Select::Right(()) => return Ok(()),
        };
        let (cfg, token) = (cfg.clone(), token.clone());
        ringbolt::spawn(async move {
            // A client that resets or speaks garbage is not the server's problem.
            let _ = serve_conn_until(stream, &cfg, token).await;
        });
    }
}

/// A TLS acceptor with a self-signed certificate for `names`, made now with rcgen; also
/// returns the certificate (DER) for clients to trust.
pub fn self_signed_tls(
    names: &[&str],
    h2: bool,
) -> Result<(tokio_rustls::TlsAcceptor, Vec<u8>), Box<dyn std::error::Error>> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let cert = rcgen::generate_simple_self_signed(names)?;
    let cert_der = cert.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone().into()], key)?;
    config.alpn_protocols = if h2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok((tokio_rustls::TlsAcceptor::from(Arc::new(config)), cert_der))
}
