//! A per-core TCP echo server on ringbolt.
//!
//! ```text
//! cargo run --release --example echo -- --addr 127.0.0.1:7878 --cores 1 [--secs N] [--buf BYTES]
//! ```
//!
//! Every core binds its own listener on the same address (`SO_REUSEPORT`; the kernel spreads
//! connections over the cores), accepts with multishot accept, and echoes every byte back until
//! the client closes. When out of fds it backs off and keeps serving the connections it has.
//! On Ctrl-C, or after `--secs N`, it prints how many connections each core served and exits.
//! `--cores` defaults to every CPU this process may run on; core *i* is pinned to CPU *i*.

use ringbolt::net::{TcpSocket, TcpStream};
use ringbolt_runtime::buf::IoBuf;
use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    STOP.store(true, Ordering::Release);
}

struct Args {
    addr: SocketAddr,
    cores: Option<usize>,
    secs: Option<u64>,
    buf: usize,
}

fn usage() -> ! {
    eprintln!("usage: echo [--addr IP:PORT] [--cores N] [--secs N] [--buf BYTES]");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 7878)),
        cores: None,
        secs: None,
        buf: 32 * 1024,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => args.addr = value.parse().unwrap_or_else(|_| usage()),
            "--cores" => args.cores = Some(value.parse().unwrap_or_else(|_| usage())),
            "--secs" => args.secs = Some(value.parse().unwrap_or_else(|_| usage())),
            "--buf" => args.buf = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    args
}

/// Echoes until the peer closes; one read buffer per connection, reused.
async fn serve(stream: TcpStream, buf_len: usize) -> io::Result<()> {
    let mut buf = vec![0u8; buf_len];
    loop {
        let (res, b) = stream.read(buf).await;
        let n = res?;
        if n == 0 {
            break;
        }
        let (res, slice) = stream.write_all(b.slice(..n)).await;
        res?;
        buf = slice.into_inner();
    }
    stream.close().await
}

/// One core: bind, accept until told to stop, return the number of connections served.
async fn core_main(core: usize, args: &Args, deadline: Option<Instant>) -> io::Result<u64> {
    let sock = TcpSocket::for_addr(args.addr)?;
    sock.set_reuseaddr(true)?;
    sock.set_reuseport(true)?;
    sock.set_nodelay(true)?; // accepted connections inherit it
    sock.bind(args.addr)?;
    let listener = sock.listen(1024)?;
    if core == 0 {
        println!("echo: listening on {}", listener.local_addr()?);
    }
    let served = Rc::new(Cell::new(0u64));
    let mut incoming = listener.incoming();
    let buf_len = args.buf;
    let acceptor = {
        let served = served.clone();
        ringbolt_runtime::spawn(async move {
            loop {
                match incoming.next().await {
                    Ok(stream) => {
                        served.set(served.get() + 1);
                        ringbolt_runtime::spawn(async move {
                            // A connection reset by its client is not the server's problem.
                            let _ = serve(stream, buf_len).await;
                        });
                    }
                    Err(e) => {
                        eprintln!("echo: core {core}: accept failed: {e}");
                        return;
                    }
                }
            }
        })
    };
    while !STOP.load(Ordering::Acquire) && deadline.is_none_or(|d| Instant::now() < d) {
        ringbolt_runtime::time::sleep(Duration::from_millis(50)).await;
    }
    acceptor.abort();
    Ok(served.get())
}

fn main() -> io::Result<()> {
    let args = parse_args();
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
    let deadline = args.secs.map(|s| Instant::now() + Duration::from_secs(s));
    let mut builder = ringbolt_runtime::Runtime::builder();
    if let Some(n) = args.cores {
        builder = builder.cores(n);
    }
    let args = &args;
    let results = builder.launch(|core| async move { core_main(core, args, deadline).await })?;
    let mut total = 0;
    for (core, res) in results.into_iter().enumerate() {
        let served = res?;
        total += served;
        println!("echo: core {core}: {served} connections");
    }
    println!("echo: total: {total} connections");
    Ok(())
}
