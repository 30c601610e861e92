//! Echo servers, each run in its own child process (`--serve CONTENDER`), and that child's
//! control protocol.
//!
//! Rules:
//! 1. The child pins itself to the server cores before it creates any thread, so every thread
//!    (tokio workers, blocking pools, ring workers) inherits the mask; per-core servers then
//!    re-pin each thread to its own core.
//! 2. All listeners are bound before the child prints `ready PORT` on stdout.
//! 3. The control protocol is line-based on stdin/stdout: `stats` → `stats N` where `N` is the
//!    number of syscalls the server loops made so far, or `-1` when the contender does not count
//!    its own (tokio, ringbolt, monoio: those are counted with `perf stat` by the parent). EOF on stdin
//!    ends the process.
//! 4. Every echo server echoes every byte it reads, sets `TCP_NODELAY` on accepted sockets, and uses
//!    the same per-connection buffer size.

use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};

use socket2::{Domain, Socket, Type};

use crate::affinity::pin_current_thread;
use crate::args::ServeArgs;

pub mod http;
pub mod monoio;
pub mod raw_epoll;
pub mod raw_uring;
pub mod ringbolt;
pub mod tokio_mt;
pub mod tokio_percore;

/// Echo contenders, in table order. `ringbolt-epoll` is the `ringbolt` server on ringbolt's
/// epoll driver (the fallback where io_uring is forbidden), so both drivers appear side by side.
pub const ECHO_CONTENDERS: &[&str] = &[
    "ringbolt",
    "ringbolt-epoll",
    "tokio-mt",
    "tokio-percore",
    "monoio",
    "raw-epoll",
    "raw-uring",
];

/// HTTP contenders, in table order; each runs the server `http-<name>` (see [`http`]).
pub const HTTP_CONTENDERS: &[&str] = &["ringbolt", "tokio-mt", "tokio-percore"];

/// The `--serve` name of an HTTP contender's server.
pub fn http_server(contender: &str) -> String {
    format!("http-{contender}")
}

/// Echo contenders run only when named with `--contenders`: `ringbolt-poll` is ringbolt's
/// readiness path (`PollIo`: multishot `POLL_ADD` + non-blocking `recv`/`send`), to weigh it
/// against the owned-buffer path that `ringbolt` uses.
pub const OPT_IN_ECHO_CONTENDERS: &[&str] = &["ringbolt-poll"];

/// Echo contenders of a default run (all of them are compiled in).
pub fn available() -> Vec<&'static str> {
    ECHO_CONTENDERS.to_vec()
}

/// Every echo contender `--contenders` may name.
pub fn selectable() -> Vec<&'static str> {
    ECHO_CONTENDERS
        .iter()
        .chain(OPT_IN_ECHO_CONTENDERS)
        .copied()
        .collect()
}

/// Whether the contender's server counts its own syscalls (see rule 3).
pub fn counts_own_syscalls(contender: &str) -> bool {
    matches!(contender, "raw-epoll" | "raw-uring")
}

/// Syscalls made by this process's server loops (raw contenders only).
pub static SYSCALLS: AtomicU64 = AtomicU64::new(0);

/// Binds a listener on 127.0.0.1:`port` with `SO_REUSEADDR` and `SO_REUSEPORT`.
///
/// # Errors
/// Any socket, bind or listen error.
pub fn bind_reuseport(port: u16) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// One reuseport listener per core, all on the same (kernel-chosen) port.
///
/// # Errors
/// Any bind error.
pub fn bind_per_core(cores: usize) -> io::Result<(u16, Vec<TcpListener>)> {
    let first = bind_reuseport(0)?;
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    for _ in 1..cores {
        listeners.push(bind_reuseport(port)?);
    }
    Ok((port, listeners))
}

/// Runs on a server thread: on error, say so and end the process so the parent notices.
pub fn exit_on_error(what: &str, res: io::Result<()>) {
    if let Err(e) = res {
        eprintln!("versus server {what}: {e}");
        std::process::exit(1);
    }
}

/// The `--serve` child process: start the contender, report readiness, answer `stats`.
///
/// # Errors
/// Pinning or startup failure; the caller prints it and exits non-zero.
pub fn serve(args: &ServeArgs) -> io::Result<()> {
    pin_current_thread(&args.cores)?;
    let port = match args.contender.as_str() {
        "raw-epoll" => raw_epoll::start(&args.cores, args.buf_size)?,
        "raw-uring" => raw_uring::start(&args.cores, args.buf_size)?,
        "tokio-mt" => tokio_mt::start(&args.cores, args.buf_size)?,
        "tokio-percore" => tokio_percore::start(&args.cores, args.buf_size)?,
        // The same server; the parent started this child with RINGBOLT_DRIVER=epoll (see
        // `child::set_driver_env`), and `ringbolt::start` checks the driver it got.
        "ringbolt" | "ringbolt-epoll" => ringbolt::start(&args.cores, args.buf_size)?,
        "ringbolt-poll" => ringbolt::start_poll(&args.cores, args.buf_size)?,
        "monoio" => monoio::start(&args.cores, args.buf_size)?,
        "http-ringbolt" => http::start_ringbolt(&args.cores)?,
        "http-tokio-mt" => http::start_tokio_mt(&args.cores)?,
        "http-tokio-percore" => http::start_tokio_percore(&args.cores)?,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown echo contender {other:?}"),
            ))
        }
    };
    let counts = counts_own_syscalls(&args.contender);
    let mut out = io::stdout().lock();
    writeln!(out, "ready {port}")?;
    out.flush()?;
    for line in io::stdin().lock().lines() {
        if line?.trim() == "stats" {
            let n = if counts {
                SYSCALLS.load(Ordering::Relaxed) as i64
            } else {
                -1
            };
            writeln!(out, "stats {n}")?;
            out.flush()?;
        }
    }
    Ok(())
}
