//! Serves ringbolt's own metrics at `/metrics`, in the Prometheus text format, over ringbolt
//! TCP with a hand-written HTTP/1.0 responder.
//!
//! ```text
//! cargo run --release --example metrics_http -- --addr 127.0.0.1:9464 --cores 2 [--secs N]
//! curl -s http://127.0.0.1:9464/metrics
//! ```
//!
//! Every core binds its own listener on the address (`bind_reuseport`) and answers each
//! request on its own ring: `GET /metrics` with [`ringbolt::metrics::render`] (the counters and
//! histograms of every core, whichever core answers), `GET /` with a short hello, anything else
//! with 404. One request per connection (HTTP/1.0: the server closes after the response).
//! The runtimes are built with `Builder::metrics(true)` and the default stall detection, so a
//! blocking call on a core shows up in `ringbolt_stalls_total` and on stderr.
//! Runs until SIGTERM or Ctrl-C (or for `--secs N`): then every core stops accepting, the
//! requests in flight are answered, and the process exits 0.

use clap::Parser;
use ringbolt::net::{TcpListener, TcpStream};
use ringbolt::shutdown::Shutdown;
use ringbolt::signal::unix::SignalKind;
use ringbolt::sync::CancellationToken;
use ringbolt::task::{select, Either};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Serves ringbolt's own metrics at `/metrics` in the Prometheus text format.
#[derive(Parser)]
#[command(name = "metrics_http")]
struct Args {
    /// Address every core listens on.
    #[arg(long, default_value = "127.0.0.1:9464")]
    addr: SocketAddr,
    /// Cores to serve on.
    #[arg(long, default_value_t = 1)]
    cores: usize,
    /// Stop after this many seconds [default: run until SIGTERM or Ctrl-C].
    #[arg(long)]
    secs: Option<u64>,
}

/// Reads the request head (up to the blank line, at most 8 KiB) and answers it.
async fn serve(stream: TcpStream) -> io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() > 8192 {
            return respond(
                &stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
            )
            .await;
        }
        let (res, buf) = stream.read(Vec::with_capacity(1024)).await;
        if res? == 0 {
            break;
        }
        head.extend_from_slice(&buf);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some("/metrics")) => {
            let body = ringbolt::metrics::render();
            respond(&stream, "200 OK", "text/plain; version=0.0.4", &body).await
        }
        (Some("GET"), Some("/")) => {
            let body = format!("ringbolt core {} says hello\n", ringbolt::core_id());
            respond(&stream, "200 OK", "text/plain", &body).await
        }
        (Some(_), Some(_)) => respond(&stream, "404 Not Found", "text/plain", "not found\n").await,
        _ => respond(&stream, "400 Bad Request", "text/plain", "bad request\n").await,
    }
}

async fn respond(stream: &TcpStream, status: &str, ctype: &str, body: &str) -> io::Result<()> {
    let msg = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (res, _) = stream.write_all(msg.into_bytes()).await;
    res
}

async fn core_main(args: &Args, token: CancellationToken) -> io::Result<()> {
    let listener = TcpListener::bind_reuseport(args.addr)?;
    if ringbolt::core_id() == 0 {
        println!(
            "metrics_http: serving http://{}/metrics on {} cores",
            listener.local_addr()?,
            ringbolt::cores()
        );
    }
    let mut incoming = listener.incoming();
    loop {
        // Accept until the shutdown starts; the connections' tasks are drained by the launcher.
        let next = match select(incoming.next(), token.cancelled()).await {
            Either::Left(next) => next,
            Either::Right(()) => return Ok(()),
        };
        match next {
            Ok(stream) => {
                ringbolt::spawn(async move {
                    if let Err(e) = serve(stream).await {
                        eprintln!("metrics_http: connection failed: {e}");
                    }
                });
            }
            Err(e) => eprintln!("metrics_http: accept failed: {e}"),
        }
    }
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let shutdown = Shutdown::new();
    let args = &args;
    ringbolt::Builder::new()
        .cores(args.cores)
        .metrics(true)
        .drain_timeout(Duration::from_secs(5))
        .launch_with_shutdown(&shutdown, |core, token| {
            let shutdown = shutdown.clone();
            async move {
                if core == 0 {
                    shutdown.trigger_on(&[SignalKind::terminate(), SignalKind::interrupt()])?;
                    if let Some(secs) = args.secs {
                        let (shutdown, token) = (shutdown.clone(), token.clone());
                        ringbolt::spawn(async move {
                            let timer = ringbolt::time::sleep(Duration::from_secs(secs));
                            if select(timer, token.cancelled()).await.is_left() {
                                shutdown.trigger();
                            }
                        });
                    }
                }
                core_main(args, token).await
            }
        })?;
    println!("metrics_http: stopped");
    Ok(())
}
