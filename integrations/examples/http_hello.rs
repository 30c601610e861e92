//! The README's "Serve HTTP" quick start, compiled so it stays true: hyper on ringbolt, one
//! `SO_REUSEPORT` listener per core, no tokio runtime.
//!
//! ```text
//! cargo run --release -p ringbolt-integrations --example http_hello     # then: curl http://127.0.0.1:8080/
//! ```
//!
//! It has no signal handling on purpose (it is the short version): SIGTERM or Ctrl-C end it by
//! the default action. `examples/http` is the full version (keep-alive, `/echo`, `--h2c`,
//! `--tls`, and a graceful stop on SIGTERM that finishes the requests in flight).

// [dependencies] ringbolt = { .., features = ["hyper"] }, hyper = { version = "1", features =
// ["http1", "server"] }, http-body-util = "0.1", bytes = "1"
use bytes::Bytes;
use http_body_util::Full;
use hyper::{service::service_fn, Request, Response};
use ringbolt::net::{compat::HyperTimer, TcpListener};

async fn hello(
    _: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello from ringbolt!\n",
    ))))
}

/// One core's server: every core listens on the same port, the kernel spreads connections.
async fn serve() -> std::io::Result<()> {
    let listener = TcpListener::bind_reuseport("127.0.0.1:8080")?;
    loop {
        let (stream, _) = listener.accept().await?;
        ringbolt::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer)
                .serve_connection(stream.into_poll_io(), service_fn(hello));
            let _ = conn.await; // a client that resets is not the server's problem
        });
    }
}

fn main() -> std::io::Result<()> {
    for core in ringbolt::Runtime::builder()
        .cores(2)
        .launch(|_core| serve())?
    {
        core?;
    }
    Ok(())
}
