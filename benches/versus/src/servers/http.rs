//! HTTP servers: the same hyper service (HTTP/1.1, keep-alive, `GET` → a fixed 21-byte body)
//! on ringbolt (the readiness path, `PollIo`, as `integrations/examples/http` serves it), on a tokio
//! multi-thread runtime, and on one tokio `current_thread` runtime per core. Same hyper
//! settings everywhere: no timer (so no header-read timeout), keep-alive on.

use std::convert::Infallible;
use std::io;
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};

use super::{bind_per_core, bind_reuseport, exit_on_error};
use crate::affinity::pin_current_thread;

/// The body every `GET` answers; the load generator checks it byte for byte.
pub const BODY: &[u8] = b"Hello from ringbolt!\n";

/// The service: every request gets [`BODY`] (a `Content-Length` response).
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// ringbolt: one runtime per server core, each with its own reuseport listener; every
/// connection served by hyper over `PollIo` on its core.
///
/// # Errors
/// Bind errors, a core failing to start, or the cores not binding within 10 s.
pub fn start_ringbolt(cores: &[usize]) -> io::Result<u16> {
    let (port, listeners) = bind_per_core(cores.len())?;
    let listeners: Vec<std::net::TcpListener> = listeners;
    let slots: Vec<std::sync::Mutex<Option<std::net::TcpListener>>> = listeners
        .into_iter()
        .map(|l| std::sync::Mutex::new(Some(l)))
        .collect();
    let (up_tx, up_rx) = mpsc::channel::<()>();
    let cpus = cores.to_vec();
    let n = cpus.len();
    std::thread::Builder::new()
        .name("ringbolt-http".into())
        .spawn(move || {
            let slots = &slots;
            let res = ringbolt_runtime::Runtime::builder()
                .cores(n)
                .cpus(cpus)
                .launch(|core| {
                    let up = up_tx.clone();
                    async move {
                        let taken = slots[core].lock().ok().and_then(|mut l| l.take());
                        let Some(listener) = taken else { return };
                        let listener = ringbolt_net::TcpListener::from_std(listener);
                        let _ = up.send(());
                        ringbolt_accept(listener).await;
                    }
                });
            exit_on_error("ringbolt-http", res.map(drop));
        })?;
    for _ in 0..n {
        up_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| io::Error::other("ringbolt http cores did not start within 10 s"))?;
    }
    Ok(port)
}

async fn ringbolt_accept(listener: ringbolt_net::TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if stream.set_nodelay(true).is_err() {
                    continue;
                }
                drop(ringbolt_runtime::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(stream.into_poll_io(), service_fn(hello))
                        .await;
                }));
            }
            // EMFILE and friends: keep serving existing connections.
            Err(_) => ringbolt_runtime::task::yield_now().await,
        }
    }
}

/// tokio multi-thread runtime, one worker per server core, one listener.
///
/// # Errors
/// Bind or runtime construction errors.
pub fn start_tokio_mt(cores: &[usize]) -> io::Result<u16> {
    let listener = bind_reuseport(0)?;
    let port = listener.local_addr()?.port();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.len().max(1))
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("tokio-mt-http".into())
        .spawn(move || exit_on_error("tokio-mt-http", rt.block_on(tokio_accept(listener))))?;
    Ok(port)
}

/// One pinned tokio `current_thread` runtime per core, each with its own reuseport listener.
///
/// # Errors
/// Bind or runtime construction errors.
pub fn start_tokio_percore(cores: &[usize]) -> io::Result<u16> {
    let (port, listeners) = bind_per_core(cores.len())?;
    for (&core, listener) in cores.iter().zip(listeners) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("tokio-http-{core}"))
            .spawn(move || {
                exit_on_error("pin", pin_current_thread(&[core]));
                exit_on_error("tokio-percore-http", rt.block_on(tokio_accept(listener)));
            })?;
    }
    Ok(port)
}

async fn tokio_accept(listener: std::net::TcpListener) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                stream.set_nodelay(true)?;
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service_fn(hello))
                        .await;
                });
            }
            Err(_) => tokio::task::yield_now().await,
        }
    }
}
