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
//! accepting, shuts down the read side of each of its connections (each echoes what the client
//! had already sent and closes); after `--drain SECS` (default 10) whatever is left is aborted. It then prints
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
use ringbolt::sync::CancellationToken;
use ringbolt::task::{select, Either};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
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

thread_local! {
    /// This core's connections (see [`Conns`]).
    static CONNS: Conns = const {
        Conns {
            fds: RefCell::new(Vec::new()),
            draining: Cell::new(false),
        }
    };
}

/// The connections a core serves, as a bitset of their fd numbers, so that the shutdown
/// reaches every connection without each one waiting on the token (a registered waker per
/// idle connection): when the shutdown starts, the core shuts down the read side of each, and
/// each connection's pending read returns what the client had already sent, then end-of-file.
/// A read in flight is never dropped (that would lose its bytes).
///
/// Rules:
/// 1. A bit is set only while a connection task owns its open socket: [`Conn`] sets it when
///    made and clears it when dropped, before its stream is closed or dropped. So a set bit
///    always names an open socket of this core (fd numbers are reused only after a close).
/// 2. Once the drain has started, a new connection shuts its read side down when it registers
///    (a connection handed over from another core after this core's drain began).
struct Conns {
    fds: RefCell<Vec<u64>>,
    draining: Cell<bool>,
}

impl Conns {
    fn insert(&self, fd: RawFd) {
        let fd = usize::try_from(fd).expect("an open fd is non-negative");
        let mut fds = self.fds.borrow_mut();
        if fds.len() <= fd / 64 {
            fds.resize(fd / 64 + 1, 0);
        }
        fds[fd / 64] |= 1 << (fd % 64);
        drop(fds);
        if self.draining.get() {
            shut_read(fd);
        }
    }

    fn remove(&self, fd: RawFd) {
        let fd = usize::try_from(fd).expect("an open fd is non-negative");
        if let Some(word) = self.fds.borrow_mut().get_mut(fd / 64) {
            *word &= !(1 << (fd % 64));
        }
    }

    /// Starts the drain: shuts down the read side of every connection (rules 1, 2).
    fn drain(&self) {
        self.draining.set(true);
        for (i, &word) in self.fds.borrow().iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                shut_read(i * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
    }
}

/// `shutdown(fd, SHUT_RD)`: a read pending on the socket returns what had arrived, then
/// end-of-file. A failure (the peer is gone already) shows up on the connection's next read.
fn shut_read(fd: usize) {
    let Ok(fd) = RawFd::try_from(fd) else { return };
    // SAFETY: shutdown(2) takes no memory, and by rule 1 of `Conns` `fd` is an open socket
    // owned by a connection of this core, so the call cannot reach anyone else's file.
    unsafe { libc::shutdown(fd, libc::SHUT_RD) };
}

/// A connection: its stream, registered with its core's [`Conns`] while it lives.
struct Conn {
    /// `None` only once `into_stream` took it.
    stream: Option<TcpStream>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        CONNS.with(|c| c.insert(stream.as_raw_fd()));
        Conn {
            stream: Some(stream),
        }
    }

    /// Leaves the core's set and gives the stream back (to close it).
    fn into_stream(mut self) -> TcpStream {
        let stream = self
            .stream
            .take()
            .expect("a Conn holds its stream until here");
        let _ = CONNS.try_with(|c| c.remove(stream.as_raw_fd()));
        stream
    }
}

impl std::ops::Deref for Conn {
    type Target = TcpStream;
    fn deref(&self) -> &TcpStream {
        self.stream
            .as_ref()
            .expect("a Conn holds its stream until into_stream")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Before the stream field is dropped (rule 1).
        if let Some(stream) = &self.stream {
            let _ = CONNS.try_with(|c| c.remove(stream.as_raw_fd()));
        }
    }
}

/// Echoes with a multishot receive: each buffer the kernel filled is sent straight back, then
/// returns to the ring. Falls back to `serve_read` if the kernel lacks multishot receive.
///
/// A plain function returning an `async move` block, not an `async fn`: the block uses its
/// captures in place, where an `async fn` would keep a second copy of each argument in every
/// connection's future.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice in the future"
)]
fn serve_multishot(
    conn: Conn,
    ring: BufRing,
    buf_len: usize,
) -> impl Future<Output = io::Result<()>> {
    async move {
        // The stream, looked up once: the loop uses it for every chunk.
        let stream: &TcpStream = &conn;
        let mut chunks = stream.recv_stream(&ring);
        let mut first = true;
        // Every await but the chunk's and the send's is outside the loop: what a `match` arm
        // awaits keeps the matched value's room in the future for all its life.
        let multishot = loop {
            let buf = match chunks.next().await {
                Ok(Some(buf)) => buf,
                Ok(None) => break true,
                Err(e) if first && e.raw_os_error() == Some(libc::EINVAL) => break false,
                Err(e) => return Err(e),
            };
            first = false;
            // Inline: the send's state (about 120 bytes) takes room in every connection's
            // future, idle ones included (488 B per idle connection instead of 376 B), but a
            // boxed send costs about 260 instructions per round trip (allocations that miss
            // glibc's per-thread cache with many connections in flight).
            let (res, _buf) = stream.write_all(buf).await;
            res?;
        };
        drop(chunks);
        if !multishot {
            // Boxed: the fallback's state would otherwise sit in every connection's future.
            return Box::pin(serve_read(conn, buf_len)).await;
        }
        // Boxed: it runs once, at the end.
        Box::pin(conn.into_stream().close()).await
    }
}

/// Echoes until the peer closes (or the drain shut its read side); one read buffer per
/// connection.
async fn serve_read(conn: Conn, buf_len: usize) -> io::Result<()> {
    let mut buf = vec![0u8; buf_len];
    loop {
        let (res, b) = conn.read(buf).await;
        let n = res?;
        if n == 0 {
            break;
        }
        // A read sets the buffer's length to the bytes it received (its capacity is what the
        // next read may fill): `write_all` sends exactly those, with no slice around them.
        let (res, b) = conn.write_all(b).await;
        res?;
        buf = b;
    }
    Box::pin(conn.into_stream().close()).await
}

/// Passes an accepted connection to the next core, which serves it with `read` (and drains it
/// with its own connections when the shutdown starts).
fn hand_off(core: usize, stream: TcpStream, buf_len: usize) {
    let target = (core + 1) % ringbolt::cores();
    // A freshly accepted stream has no op in flight, so this succeeds.
    match stream.into_std() {
        Ok(std_stream) => drop(ringbolt::spawn_on(target, move || async move {
            let conn = Conn::new(TcpStream::from_std(std_stream));
            let _ = serve_read(conn, buf_len).await;
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
    // The drain of this core's connections (those handed over from another core included)
    // starts with the shutdown, whatever ends the accept loop.
    let drain_token = token.clone();
    drop(ringbolt::spawn(async move {
        drain_token.cancelled().await;
        CONNS.with(Conns::drain);
    }));
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
        // A connection reset by its client is not the server's problem: the task's result is
        // dropped with its handle.
        let conn = Conn::new(stream);
        match &ring {
            Some(ring) => drop(ringbolt::spawn(serve_multishot(
                conn,
                ring.clone(),
                buf_len,
            ))),
            None => drop(ringbolt::spawn(serve_read(conn, buf_len))),
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
