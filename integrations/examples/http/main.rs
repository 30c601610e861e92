//! A per-core HTTP server: hyper on ringbolt, with no tokio runtime underneath.
//!
//! ```text
//! cargo run --release -p ringbolt-integrations --example http -- --addr 127.0.0.1:8080 --cores 2 [--h2c] [--tls] [--cert-out cert.der] [--secs N]
//! curl http://127.0.0.1:8080/                      # Hello from ringbolt!
//! curl --data-binary @file http://127.0.0.1:8080/echo   # the body, streamed back
//! curl http://127.0.0.1:8080/metrics               # the runtime's metrics (Prometheus text)
//! ```
//!
//! Every core binds its own listener on the same address (`SO_REUSEPORT`; the kernel spreads
//! connections over the cores) and serves each connection in a task of its own on that core.
//! Connections are HTTP/1.1 with keep-alive; `--h2c` speaks HTTP/2 with prior knowledge instead
//! (`curl --http2-prior-knowledge`). `--tls` serves HTTPS with a self-signed certificate made at
//! start-up (rcgen), whose DER form `--cert-out PATH` writes for clients to trust; with `--h2c`
//! it is then h2 over TLS. Sockets go through the readiness path (`PollIo`: a multishot
//! `POLL_ADD` on the core's ring, then non-blocking `recv`/`send` into hyper's buffers); TLS
//! runs `tokio-rustls` over it. On SIGTERM or Ctrl-C (or after `--secs N`) every core stops
//! accepting, each connection finishes the requests in flight (hyper's graceful shutdown), and
//! whatever is left after 10 s is aborted; the process then exits 0.

mod server;

use clap::Parser;
use ringbolt::shutdown::Shutdown;
use ringbolt::signal::unix::SignalKind;
use ringbolt::task::select;
use std::net::SocketAddr;
use std::time::Duration;

/// A per-core HTTP server: hyper on ringbolt, with no tokio runtime underneath.
#[derive(Parser)]
#[command(name = "http")]
struct Args {
    /// Address every core listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Cores to serve on [default: every CPU this process may run on].
    #[arg(long)]
    cores: Option<usize>,
    /// Stop after this many seconds [default: run until SIGTERM or Ctrl-C].
    #[arg(long)]
    secs: Option<u64>,
    /// HTTP/2 with prior knowledge instead of HTTP/1.1.
    #[arg(long = "h2c")]
    h2: bool,
    /// HTTPS with a self-signed certificate made at start-up.
    #[arg(long)]
    tls: bool,
    /// With --tls: write the certificate (DER) here for clients to trust.
    #[arg(long, value_name = "PATH")]
    cert_out: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut cfg = server::Config {
        h2: args.h2,
        tls: None,
    };
    if args.tls {
        let host = args.addr.ip().to_string();
        let (acceptor, cert) = server::self_signed_tls(&[host.as_str(), "localhost"], args.h2)?;
        if let Some(path) = &args.cert_out {
            std::fs::write(path, &cert)?;
        }
        cfg.tls = Some(acceptor);
    }
    let mut builder = ringbolt::Runtime::builder()
        .drain_timeout(Duration::from_secs(10))
        .metrics(true);
    if let Some(n) = args.cores {
        builder = builder.cores(n);
    }
    let (args, cfg) = (&args, &cfg);
    let shutdown = Shutdown::new();
    let reports = builder.launch_with_shutdown(&shutdown, |core, token| {
        let shutdown = shutdown.clone();
        async move {
            if core == 0 {
                // SIGTERM (service managers) and Ctrl-C start the graceful shutdown: every core
                // stops accepting, and each connection finishes its requests in flight.
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
            let listener = server::bind_reuseport(args.addr)?;
            if core == 0 {
                let scheme = if cfg.tls.is_some() { "https" } else { "http" };
                let proto = if cfg.h2 { "HTTP/2" } else { "HTTP/1.1" };
                println!(
                    "http: listening on {scheme}://{} ({proto})",
                    listener.local_addr()?
                );
            }
            server::accept_until(listener, cfg.clone(), token).await
        }
    })?;
    for r in &reports {
        println!(
            "http: core {}: at shutdown {} tasks drained, {} aborted",
            r.core, r.tasks_drained, r.tasks_aborted
        );
    }
    println!("http: stopped");
    Ok(())
}
