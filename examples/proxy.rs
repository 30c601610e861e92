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

#[derive(Clone, Debug)]
enum Upstream {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

struct Args {
    listen: SocketAddr,
    upstream: Upstream,
    cores: usize,
}

fn usage() -> ! {
    eprintln!("usage: proxy --listen IP:PORT --upstream IP:PORT|unix:PATH [--cores N]");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let (mut listen, mut upstream, mut cores) = (None, None, 1);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--listen" => listen = Some(val().parse().unwrap_or_else(|_| usage())),
            "--upstream" => {
                let v = val();
                upstream = Some(match v.strip_prefix("unix:") {
                    Some(path) => Upstream::Unix(PathBuf::from(path)),
                    None => Upstream::Tcp(v.parse().unwrap_or_else(|_| usage())),
                });
            }
            "--cores" => cores = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    match (listen, upstream) {
        (Some(listen), Some(upstream)) => Args {
            listen,
            upstream,
            cores,
        },
        _ => usage(),
    }
}

fn main() -> io::Result<()> {
    let args = parse_args();
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
