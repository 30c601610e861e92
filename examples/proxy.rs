//! A TCP proxy: every connection accepted on `--listen` is relayed to `--upstream`, a TCP
//! address or a Unix socket path, with `copy_bidirectional` (half-close passed through).
//!
//! ```text
//! cargo run --release --example proxy -- --listen 127.0.0.1:9000 --upstream 127.0.0.1:8080 [--cores N]
//! cargo run --release --example proxy -- --listen 127.0.0.1:9000 --upstream unix:/run/app.sock
//! ```
//!
//! The relay is written once, generically, over the owned-buffer traits
//! ([`ringbolt::io::AsyncReadOwned`], [`AsyncWriteOwned`](ringbolt::io::AsyncWriteOwned),
//! [`SplitOwned`]): the same function serves TCP and Unix upstreams. Dropping a write half
//! sends FIN, as in tokio, so nothing hangs when one side closes. Stop it with Ctrl-C or
//! SIGTERM.

use clap::Parser;
use ringbolt::io::{copy_bidirectional, SplitOwned};
use ringbolt::net::{TcpListener, TcpStream, UnixStream};
use ringbolt::shutdown::Shutdown;
use ringbolt::signal::unix::SignalKind;
use ringbolt::task::{select, Either};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// Where connections are relayed to (`--upstream`).
#[derive(Clone, Debug)]
enum Upstream {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// `IP:PORT`, or `unix:PATH` for a Unix socket.
fn parse_upstream(v: &str) -> Result<Upstream, String> {
    match v.strip_prefix("unix:") {
        Some(path) => Ok(Upstream::Unix(PathBuf::from(path))),
        None => v
            .parse()
            .map(Upstream::Tcp)
            .map_err(|e| format!("{v:?}: {e} (IP:PORT or unix:PATH)")),
    }
}

/// A TCP proxy to a TCP address or a Unix socket.
#[derive(Parser)]
#[command(name = "proxy")]
struct Args {
    /// Address every core accepts on.
    #[arg(long, value_name = "IP:PORT")]
    listen: SocketAddr,
    /// Where each connection is relayed: IP:PORT or unix:PATH.
    #[arg(long, value_name = "IP:PORT|unix:PATH", value_parser = parse_upstream)]
    upstream: Upstream,
    /// Cores to serve on.
    #[arg(long, default_value_t = 1)]
    cores: usize,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let (listen, upstream) = (args.listen, args.upstream);
    println!("proxy {listen} -> {upstream:?}");
    // SIGTERM or Ctrl-C: every core stops accepting, the relays in flight get up to 10 s to
    // finish, and the process exits 0.
    let shutdown = Shutdown::new();
    let upstream = &upstream;
    ringbolt::Runtime::builder()
        .cores(args.cores)
        .drain_timeout(Duration::from_secs(10))
        .launch_with_shutdown(&shutdown, |core, token| {
            let shutdown = shutdown.clone();
            let upstream = Rc::new(upstream.clone());
            async move {
                if core == 0 {
                    shutdown.trigger_on(&[SignalKind::terminate(), SignalKind::interrupt()])?;
                }
                let listener = TcpListener::bind_reuseport(listen)?;
                loop {
                    let (client, peer) = match select(listener.accept(), token.cancelled()).await {
                        Either::Left(accepted) => accepted?,
                        Either::Right(()) => return Ok::<(), io::Error>(()),
                    };
                    let upstream = upstream.clone();
                    ringbolt::spawn(async move {
                        let res = match &*upstream {
                            Upstream::Tcp(addr) => match TcpStream::connect(addr).await {
                                Ok(up) => relay(client, up).await,
                                Err(e) => Err(e),
                            },
                            Upstream::Unix(path) => match UnixStream::connect(path).await {
                                Ok(up) => relay(client, up).await,
                                Err(e) => Err(e),
                            },
                        };
                        match res {
                            Ok((up, down)) => println!("{peer}: {up} bytes up, {down} down"),
                            Err(e) => eprintln!("{peer}: relay failed: {e}"),
                        }
                    });
                }
            }
        })?;
    println!("proxy: stopped");
    Ok(())
}

/// Relays between any two ringbolt streams until both directions are done; returns the bytes
/// relayed (client → upstream, upstream → client).
async fn relay<A: SplitOwned, B: SplitOwned>(client: A, upstream: B) -> io::Result<(u64, u64)> {
    copy_bidirectional(client, upstream).await
}
