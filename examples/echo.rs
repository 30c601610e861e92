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
//!
//! `--recv multishot` (the default) receives with one multishot request per connection into a
//! per-core ring of provided buffers and sends each buffer straight back; `--recv read` uses
//! one `read` per chunk into a per-connection buffer. Kernels without multishot receive fall
//! back to `read`.
//!
//! `--handoff` demonstrates cross-core connection hand-off: each core passes every connection
//! it accepts to the next core (`TcpStream::into_std`, `spawn_on`, `TcpStream::from_std`),
//! which serves it with `read`. A real server would pick the least-loaded core instead.

use ringbolt::net::{BufRing, TcpSocket, TcpStream};
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
    multishot: bool,
    handoff: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: echo [--addr IP:PORT] [--cores N] [--secs N] [--buf BYTES] [--recv multishot|read] [--handoff]"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 7878)),
        cores: None,
        secs: None,
        buf: 16 * 1024,
        multishot: true,
        handoff: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--handoff" {
            args.handoff = true;
            continue;
        }
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => args.addr = value.parse().unwrap_or_else(|_| usage()),
            "--cores" => args.cores = Some(value.parse().unwrap_or_else(|_| usage())),
            "--secs" => args.secs = Some(value.parse().unwrap_or_else(|_| usage())),
            "--buf" => args.buf = value.parse().unwrap_or_else(|_| usage()),
            "--recv" => {
                args.multishot = match value.as_str() {
                    "multishot" => true,
                    "read" => false,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    args
}

/// Echoes with a multishot receive: each buffer the kernel filled is sent straight back, then
/// returns to the ring. Falls back to `serve_read` if the kernel lacks multishot receive.
async fn serve_multishot(stream: TcpStream, ring: BufRing, buf_len: usize) -> io::Result<()> {
    let mut chunks = stream.recv_stream(&ring);
    let mut first = true;
    loop {
        match chunks.next().await {
            Ok(Some(buf)) => {
                let (res, _buf) = stream.write_all(buf).await;
                res?;
            }
            Ok(None) => break,
            Err(e) if first && e.raw_os_error() == Some(libc::EINVAL) => {
                drop(chunks);
                return serve_read(stream, buf_len).await;
            }
            Err(e) => return Err(e),
        }
        first = false;
    }
    drop(chunks);
    stream.close().await
}

/// Echoes until the peer closes; one read buffer per connection, reused.
async fn serve_read(stream: TcpStream, buf_len: usize) -> io::Result<()> {
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

/// Passes an accepted connection to the next core, which serves it with `read`.
fn hand_off(core: usize, stream: TcpStream, buf_len: usize) {
    let target = (core + 1) % ringbolt_runtime::cores();
    // A freshly accepted stream has no op in flight, so this succeeds.
    match stream.into_std() {
        Ok(std_stream) => drop(ringbolt_runtime::spawn_on(target, move || async move {
            let _ = serve_read(TcpStream::from_std(std_stream), buf_len).await;
        })),
        Err(e) => eprintln!("echo: core {core}: hand-off failed: {e}"),
    }
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
    let buf_len = args.buf;
    // One ring of provided buffers per core, shared by its connections.
    let ring = if args.multishot {
        match BufRing::new(1024, buf_len) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("echo: core {core}: no provided-buffer ring ({e}); using read");
                None
            }
        }
    } else {
        None
    };
    let handoff = args.handoff;
    let acceptor = {
        let served = served.clone();
        ringbolt_runtime::spawn(async move {
            // The task owns the listener; its `Incoming` borrows it.
            let mut incoming = listener.incoming();
            loop {
                match incoming.next().await {
                    Ok(stream) if handoff => {
                        served.set(served.get() + 1);
                        hand_off(core, stream, buf_len);
                    }
                    Ok(stream) => {
                        served.set(served.get() + 1);
                        let ring = ring.clone();
                        ringbolt_runtime::spawn(async move {
                            // A connection reset by its client is not the server's problem.
                            let _ = match ring {
                                Some(ring) => serve_multishot(stream, ring, buf_len).await,
                                None => serve_read(stream, buf_len).await,
                            };
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
