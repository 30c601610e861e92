//! "Gather with a concurrency limit": fetch 1,000 URLs from a small local HTTP server (started
//! by the example), at most N at a time under a `Semaphore`, each under a `timeout`, with a
//! progress line and a summary.
//!
//! ```text
//! cargo run --release --example crawl -- [--urls 1000] [--concurrency 50] [--timeout-ms 200]
//! ```
//!
//! The server answers most pages at once, delays every 50th by 10 ms, stalls every 97th
//! longer than the timeout (those requests time out), and answers every 89th with a 404.

use clap::Parser;
use ringbolt::net::{TcpListener, TcpStream};
use ringbolt::sync::Semaphore;
use ringbolt::task::join_all;
use ringbolt::time::{sleep, timeout};
use std::cell::Cell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Fetches pages from a local HTTP server, at most N at a time, each under a timeout.
#[derive(Parser)]
#[command(name = "crawl")]
struct Args {
    /// Pages to fetch.
    #[arg(long, default_value_t = 1000)]
    urls: usize,
    /// Fetches in flight at most (0 counts as 1).
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Timeout of one fetch, in milliseconds.
    #[arg(long = "timeout-ms", value_name = "MS", default_value = "200", value_parser = parse_ms)]
    timeout: Duration,
}

fn parse_ms(s: &str) -> Result<Duration, String> {
    s.parse()
        .map(Duration::from_millis)
        .map_err(|e| format!("{s:?}: {e}"))
}

/// How one fetch ended.
enum Outcome {
    Ok(usize),
    Status(u16),
    TimedOut,
    Failed(io::Error),
}

fn main() {
    let mut args = Args::parse();
    args.concurrency = args.concurrency.max(1);
    let result = ringbolt::Runtime::new().and_then(|rt| rt.block_on(crawl(args)));
    if let Err(e) = result {
        eprintln!("crawl: {e}");
        std::process::exit(1);
    }
}

async fn crawl(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let stall = args.timeout * 5;
    let server = ringbolt::spawn(serve(listener, stall));

    let limit = Semaphore::new(args.concurrency);
    let in_flight = Cell::new(0usize);
    let max_in_flight = Cell::new(0usize);
    let done = Cell::new(0usize);
    let start = Instant::now();
    let outcomes = join_all((0..args.urls).map(|i| {
        let (limit, in_flight, max_in_flight, done) = (&limit, &in_flight, &max_in_flight, &done);
        async move {
            let _permit = limit.acquire().await;
            in_flight.set(in_flight.get() + 1);
            max_in_flight.set(max_in_flight.get().max(in_flight.get()));
            let outcome = match timeout(args.timeout, fetch(addr, &format!("/page/{i}"))).await {
                Ok(Ok((200, body))) => Outcome::Ok(body),
                Ok(Ok((status, _))) => Outcome::Status(status),
                Ok(Err(e)) => Outcome::Failed(e),
                Err(_) => Outcome::TimedOut,
            };
            in_flight.set(in_flight.get() - 1);
            done.set(done.get() + 1);
            if done.get() % 50 == 0 || done.get() == args.urls {
                print!(
                    "\rcrawl: {:>5}/{} done, {:>3} in flight",
                    done.get(),
                    args.urls,
                    in_flight.get()
                );
                let _ = io::stdout().flush();
            }
            outcome
        }
    }))
    .await;
    let elapsed = start.elapsed();
    println!();
    server.abort();

    let (mut ok, mut bytes, mut not_found, mut timed_out, mut failed) = (0, 0, 0, 0, 0);
    for o in &outcomes {
        match o {
            Outcome::Ok(n) => {
                ok += 1;
                bytes += n;
            }
            Outcome::Status(404) => not_found += 1,
            Outcome::Status(status) => {
                failed += 1;
                eprintln!("crawl: unexpected HTTP status {status}");
            }
            Outcome::TimedOut => timed_out += 1,
            Outcome::Failed(e) => {
                failed += 1;
                eprintln!("crawl: fetch failed: {e}");
            }
        }
    }
    println!(
        "crawl: {} URLs in {:.2?} ({:.0}/s), at most {} at a time (limit {}): {ok} ok ({bytes} bytes), {not_found} not found, {timed_out} timed out after {:?}, {failed} failed",
        outcomes.len(),
        elapsed,
        outcomes.len() as f64 / elapsed.as_secs_f64(),
        max_in_flight.get(),
        args.concurrency,
        args.timeout,
    );
    if max_in_flight.get() > args.concurrency || failed > 0 {
        return Err(io::Error::other("the concurrency limit or a fetch failed"));
    }
    Ok(())
}

/// GETs `path` with HTTP/1.1 and `Connection: close`; returns the status and the body length.
async fn fetch(addr: SocketAddr, path: &str) -> io::Result<(u16, usize)> {
    let stream = TcpStream::connect(addr).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (res, _) = stream.write_all(req.into_bytes()).await;
    res?;
    let mut response = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let (res, b) = stream.read(buf).await;
        buf = b;
        if res? == 0 {
            break;
        }
        response.extend_from_slice(&buf);
    }
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad status line"))?;
    let body = text.find("\r\n\r\n").map_or(0, |i| text.len() - i - 4);
    Ok((status, body))
}

/// The local HTTP server: one task per connection.
async fn serve(listener: TcpListener, stall: Duration) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                ringbolt::spawn(async move {
                    // A client that timed out closes early; nothing to report.
                    let _ = respond(stream, stall).await;
                });
            }
            Err(e) => {
                eprintln!("crawl: server accept failed: {e}");
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn respond(stream: TcpStream, stall: Duration) -> io::Result<()> {
    let mut request = Vec::new();
    let mut buf = Vec::with_capacity(1024);
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        buf.clear();
        let (res, b) = stream.read(buf).await;
        buf = b;
        if res? == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf);
    }
    let text = String::from_utf8_lossy(&request);
    let page: u64 = text
        .split(' ')
        .nth(1)
        .and_then(|p| p.strip_prefix("/page/"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if page % 97 == 96 {
        sleep(stall).await;
    } else if page % 50 == 49 {
        sleep(Duration::from_millis(10)).await;
    }
    let (status, body) = if page % 89 == 88 {
        ("404 Not Found", "no such page\n".to_owned())
    } else {
        ("200 OK", format!("<html><body>page {page}</body></html>\n"))
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (res, _) = stream.write_all(response.into_bytes()).await;
    res
}
