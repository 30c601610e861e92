//! A per-core TCP echo server on ringbolt.
//!
//! ```text
//! cargo run --release --example echo -- --addr 127.0.0.1:7878 --cores 1 [--secs N] [--buf BYTES] [--drain SECS]
//! ```
//!
//! Every core binds its own listener on the same address (`SO_REUSEPORT`; the kernel spreads
//! connections over the cores), accepts with multishot accept, and echoes every byte back until
//! the client closes. When out of fds it backs off and keeps serving the connections it has.
//! `--cores` defaults to every CPU this process may run on; core *i* is pinned to CPU *i*.
//!
//! On SIGTERM or Ctrl-C (or after `--secs N`) it shuts down gracefully: every core stops
//! accepting, each connection shuts down its read side, echoes what the client had already sent
//! and closes; after `--drain SECS` (default 10) whatever is left is aborted. It then prints
//! how many connections each core served, how many tasks drained and were aborted, and the fds
//! still open (those it started with, plus the process's signalfd), and exits 0.
//!
//! `--recv multishot` (the default) receives with one multishot request per connection into a
//! per-core ring of provided buffers and sends each buffer straight back; `--recv read` uses
//! one `read` per chunk into a per-connection buffer. Kernels without multishot receive fall
//! back to `read`.
//!
//! `--handoff` demonstrates cross-core connection hand-off: each core passes every connection
//! it accepts to the next core (`TcpStream::into_std`, `spawn_on`, `TcpStream::from_std`),
//! which serves it with `read`. A real server would pick the least-loaded core instead.

use clap::{Parser, ValueEnum};
use ringbolt::net::{BufRing, TcpSocket, TcpStream};
use ringbolt::shutdown::Shutdown;
use ringbolt::signal::unix::SignalKind;
use ringbolt::sync::{CancellationToken, WaitForCancellationFuture};
use ringbolt::task::{select, Either};
use ringbolt_runtime::buf::IoBuf;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// A per-core TCP echo server on ringbolt.
#[derive(Parser)]
#[command(name = "echo")]
struct Args {
    /// Address every core listens on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
    /// Cores to run on [default: every CPU this process may run on].
    #[arg(long)]
    cores: Option<usize>,
    /// Stop after this many seconds [default: run until SIGTERM or Ctrl-C].
    #[arg(long)]
    secs: Option<u64>,
    /// Bytes per receive buffer.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    buf: usize,
    /// How connections receive.
    #[arg(long, value_enum, default_value_t = Recv::Multishot)]
    recv: Recv,
    /// Seconds the connections get to finish after SIGTERM before the rest is aborted.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    drain: Duration,
    /// Pass every accepted connection to the next core, which serves it.
    #[arg(long)]
    handoff: bool,
}

/// How connections receive (`--recv`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Recv {
    /// One multishot receive per connection into the core's provided-buffer ring.
    Multishot,
    /// One `read` per chunk into a per-connection buffer.
    Read,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    s.parse()
        .map(Duration::from_secs)
        .map_err(|e| format!("{s:?}: {e}"))
}

/// One connection's view of the shutdown: once the token is cancelled, the read side of the
/// socket is shut down (once), so a pending or later read returns what the client had already
/// sent and then end-of-file. A read in flight is never dropped (that would lose its bytes).
struct Drain<'a> {
    stream: &'a TcpStream,
    token: &'a CancellationToken,
    /// Registered once per connection, not once per read.
    cancelled: WaitForCancellationFuture<'a>,
    /// The `cancelled` future holds this task's waker: from then on a read only checks the
    /// token's flag (the wake comes to the same task, which re-polls and sees it).
    registered: bool,
    read_shut: bool,
}

impl<'a> Drain<'a> {
    fn new(stream: &'a TcpStream, token: &'a CancellationToken) -> Self {
        Drain {
            stream,
            token,
            cancelled: token.cancelled(),
            registered: false,
            read_shut: false,
        }
    }

    /// Awaits `read`, shutting the read side down if the token is cancelled meanwhile.
    fn read<F: Future + Unpin>(&mut self, read: F) -> DrainRead<'_, 'a, F> {
        DrainRead {
            drain: self,
            read,
            shutdown: None,
        }
    }
}

/// The future of [`Drain::read`]: a plain struct rather than an `async fn`, so that the read in
/// every connection's future costs a few words, not a nested state machine.
struct DrainRead<'d, 'a, F> {
    drain: &'d mut Drain<'a>,
    read: F,
    /// The read side's shutdown, once the token was cancelled (boxed: it runs once per
    /// connection at most).
    shutdown: Option<Pin<Box<dyn Future<Output = io::Result<()>> + 'a>>>,
}

impl<F: Future + Unpin> Future for DrainRead<'_, '_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        loop {
            if let Some(shutdown) = &mut this.shutdown {
                // Fails only if the client is gone already; the read then ends by itself.
                let _ = ready!(shutdown.as_mut().poll(cx));
                this.shutdown = None;
            }
            if let Poll::Ready(v) = Pin::new(&mut this.read).poll(cx) {
                return Poll::Ready(v);
            }
            let drain = &mut *this.drain;
            if drain.read_shut || (drain.registered && !drain.token.is_cancelled()) {
                return Poll::Pending;
            }
            drain.registered = true;
            ready!(Pin::new(&mut drain.cancelled).poll(cx));
            drain.read_shut = true;
            this.shutdown = Some(Box::pin(drain.stream.shutdown(std::net::Shutdown::Read)));
        }
    }
}

/// Echoes with a multishot receive: each buffer the kernel filled is sent straight back, then
/// returns to the ring. Falls back to `serve_read` if the kernel lacks multishot receive.
async fn serve_multishot(
    stream: TcpStream,
    ring: BufRing,
    buf_len: usize,
    token: CancellationToken,
) -> io::Result<()> {
    let mut chunks = stream.recv_stream(&ring);
    let mut drain = Drain::new(&stream, &token);
    let mut first = true;
    loop {
        match drain.read(chunks.next()).await {
            Ok(Some(buf)) => {
                let (res, _buf) = stream.write_all(buf).await;
                res?;
            }
            Ok(None) => break,
            Err(e) if first && e.raw_os_error() == Some(libc::EINVAL) => {
                drop(chunks);
                drop(drain);
                // Boxed: the fallback's state would otherwise sit in every connection's future.
                return Box::pin(serve_read(stream, buf_len, token)).await;
            }
            Err(e) => return Err(e),
        }
        first = false;
    }
    drop(chunks);
    drop(drain);
    // Boxed: it runs once, at the end, and would otherwise take room in the connection's
    // future for its whole life.
    Box::pin(stream.close()).await
}

/// Echoes until the peer closes (or the shutdown drained it); one read buffer per connection.
async fn serve_read(stream: TcpStream, buf_len: usize, token: CancellationToken) -> io::Result<()> {
    let mut drain = Drain::new(&stream, &token);
    let mut buf = vec![0u8; buf_len];
    loop {
        let (res, b) = drain.read(stream.read(buf)).await;
        let n = res?;
        if n == 0 {
            break;
        }
        let (res, slice) = stream.write_all(b.slice(..n)).await;
        res?;
        buf = slice.into_inner();
    }
    drop(drain);
    Box::pin(stream.close()).await
}

thread_local! {
    /// This core's shutdown token, for connections handed over from another core.
    static TOKEN: std::cell::RefCell<Option<CancellationToken>> = const { std::cell::RefCell::new(None) };
}

/// Passes an accepted connection to the next core, which serves it with `read` (and drains it
/// with its own token when the shutdown starts).
fn hand_off(core: usize, stream: TcpStream, buf_len: usize) {
    let target = (core + 1) % ringbolt::cores();
    // A freshly accepted stream has no op in flight, so this succeeds.
    match stream.into_std() {
        Ok(std_stream) => drop(ringbolt::spawn_on(target, move || async move {
            let token = TOKEN.with(|t| t.borrow().clone()).unwrap_or_default();
            let _ = serve_read(TcpStream::from_std(std_stream), buf_len, token).await;
        })),
        Err(e) => eprintln!("echo: core {core}: hand-off failed: {e}"),
    }
}

/// One core: bind, accept until the token is cancelled, return the number of connections
/// accepted. The connections go on as tasks; the launcher drains them.
async fn core_main(core: usize, args: &Args, token: CancellationToken) -> io::Result<u64> {
    let sock = TcpSocket::for_addr(args.addr)?;
    sock.set_reuseaddr(true)?;
    sock.set_reuseport(true)?;
    sock.set_nodelay(true)?; // accepted connections inherit it
    sock.bind(args.addr)?;
    let listener = sock.listen(1024)?;
    if core == 0 {
        println!("echo: listening on {}", listener.local_addr()?);
    }
    let mut served = 0u64;
    let mut incoming = listener.incoming();
    let buf_len = args.buf;
    // One ring of provided buffers per core, shared by its connections.
    let ring = if args.recv == Recv::Multishot {
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
    TOKEN.with(|t| *t.borrow_mut() = Some(token.clone()));
    loop {
        // Stop accepting as soon as the shutdown starts. (A connection the kernel accepted for
        // the cancelled accept is closed, like one still in the backlog.)
        let stream = match select(incoming.next(), token.cancelled()).await {
            Either::Left(Ok(stream)) => stream,
            Either::Left(Err(e)) => {
                eprintln!("echo: core {core}: accept failed: {e}");
                break;
            }
            Either::Right(()) => break,
        };
        served += 1;
        if args.handoff {
            hand_off(core, stream, buf_len);
            continue;
        }
        // One task per connection, spawned per mode: a task's size is its own mode's state.
        let token = token.clone();
        match &ring {
            Some(ring) => {
                let ring = ring.clone();
                // A connection reset by its client is not the server's problem: the task's
                // result is dropped with its handle.
                let conn = serve_multishot(stream, ring, buf_len, token);
                drop(ringbolt::spawn(conn));
            }
            None => {
                drop(ringbolt::spawn(serve_read(stream, buf_len, token)));
            }
        }
    }
    drop(incoming);
    listener.close().await?;
    Ok(served)
}

/// The number of fds this process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count().saturating_sub(1))
}

fn main() -> io::Result<()> {
    let fds_at_start = open_fds();
    let args = Args::parse();
    let mut builder = ringbolt::Runtime::builder().drain_timeout(args.drain);
    if let Some(n) = args.cores {
        builder = builder.cores(n);
    }
    let args = &args;
    let shutdown = Shutdown::new();
    let reports = builder.launch_with_shutdown(&shutdown, |core, token| {
        let shutdown = shutdown.clone();
        async move {
            if core == 0 {
                // SIGTERM (service managers) and Ctrl-C start the graceful shutdown.
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
            core_main(core, args, token).await
        }
    })?;
    let mut total = 0;
    for r in &reports {
        let served = r.output.unwrap_or(0);
        total += served;
        println!(
            "echo: core {}: {served} connections; at shutdown {} tasks drained, {} aborted",
            r.core, r.tasks_drained, r.tasks_aborted
        );
    }
    println!("echo: total: {total} connections");
    // Every socket and ring is closed by now; what stays is what the process started with, plus
    // the process-wide signalfd.
    println!(
        "echo: stopped; open fds: {} ({fds_at_start} at start)",
        open_fds()
    );
    Ok(())
}
