//! A static file server (HTTP/1.0 `GET`, one request per connection) that sends file bodies
//! with zero-copy `sendfile` (`IORING_OP_SPLICE` through a pipe), or with read + write of
//! 256 KiB chunks for comparison.
//!
//! ```text
//! cargo run --release --example file_server -- --root DIR [--addr 127.0.0.1:8080] [--cores N] [--mode splice|copy]
//! curl -o out http://127.0.0.1:8080/some/file
//!
//! # measure splice against read+write on this machine (in-process server and clients)
//! cargo run --release --example file_server -- --bench [--bench-mib 64] [--bench-conns 1]
//! ```
//!
//! Every core binds its own listener on the address (`bind_reuseport`) and serves each
//! connection in its own task: the request head is read with a `BufReader` (`read_line`),
//! the path is resolved under `--root` (no `..`), and the reply is a `200` with
//! `Content-Length`, or `400`/`404`/`405`. Stop it with Ctrl-C or SIGTERM.

use clap::{Parser, ValueEnum};
use ringbolt::fs::File;
use ringbolt::io::BufReader;
use ringbolt::net::{TcpListener, TcpStream};
use ringbolt::shutdown::Shutdown;
use ringbolt::signal::unix::SignalKind;
use ringbolt::sync::CancellationToken;
use ringbolt::task::{select, Either};
use std::io;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How a body goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// `sendfile`: file → pipe → socket, no copy through user memory.
    Splice,
    /// `read_at` 256 KiB into a buffer, then `write_all` it.
    Copy,
}

/// The chunk size of [`Mode::Copy`].
const COPY_CHUNK: usize = 256 * 1024;

/// A static file server with zero-copy `sendfile`, or a splice-vs-copy benchmark (`--bench`).
#[derive(Parser)]
#[command(name = "file_server")]
struct Args {
    /// Address every core listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory served (required unless --bench).
    #[arg(long, value_name = "DIR", required_unless_present = "bench")]
    root: Option<PathBuf>,
    /// Cores to serve on.
    #[arg(long, default_value_t = 1)]
    cores: usize,
    /// How bodies go out.
    #[arg(long, value_enum, default_value_t = Mode::Splice)]
    mode: Mode,
    /// Measure splice against read + write on this machine (in-process server and clients).
    #[arg(long)]
    bench: bool,
    /// --bench: MiB per file sent.
    #[arg(long, value_name = "N", default_value_t = 64)]
    bench_mib: usize,
    /// --bench: concurrent connections.
    #[arg(long, value_name = "N", default_value_t = 1)]
    bench_conns: usize,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    if args.bench {
        return bench(args.bench_mib, args.bench_conns);
    }
    // clap requires --root without --bench.
    let root = args.root.unwrap_or_default().canonicalize()?;
    let (addr, mode) = (args.addr, args.mode);
    println!("serving {} on http://{addr} ({mode:?})", root.display());
    // SIGTERM or Ctrl-C: every core stops accepting, the requests in flight are answered
    // (drained for up to 10 s), and the process exits 0.
    let shutdown = Shutdown::new();
    let root = &root;
    ringbolt::Runtime::builder()
        .cores(args.cores)
        .drain_timeout(Duration::from_secs(10))
        .launch_with_shutdown(&shutdown, |core, token| {
            let shutdown = shutdown.clone();
            async move {
                if core == 0 {
                    shutdown.trigger_on(&[SignalKind::terminate(), SignalKind::interrupt()])?;
                }
                let listener = TcpListener::bind_reuseport(addr)?;
                serve(listener, Rc::new(root.clone()), mode, None, token).await
            }
        })?;
    println!("file_server: stopped");
    Ok(())
}

/// Accepts connections (all of them, or `limit`) until `token` is cancelled, and serves each
/// in its own task.
async fn serve(
    listener: TcpListener,
    root: Rc<PathBuf>,
    mode: Mode,
    limit: Option<usize>,
    token: CancellationToken,
) -> io::Result<()> {
    let mut tasks = Vec::new();
    let mut served = 0;
    while limit.is_none_or(|l| served < l) {
        let (stream, _) = match select(listener.accept(), token.cancelled()).await {
            Either::Left(accepted) => accepted?,
            Either::Right(()) => break,
        };
        served += 1;
        let root = root.clone();
        let task = ringbolt::spawn(async move {
            if let Err(e) = serve_conn(stream, &root, mode).await {
                eprintln!("file_server: connection failed: {e}");
            }
        });
        if limit.is_some() {
            tasks.push(task);
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Reads one request head, answers it, and closes the connection.
async fn serve_conn(stream: TcpStream, root: &Path, mode: Mode) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    // Skip the header lines up to the empty one (bounded: a head is at most 100 lines).
    let mut line = String::new();
    for _ in 0..100 {
        line.clear();
        if reader.read_line(&mut line).await? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    let stream = reader.into_inner();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return reply_status(&stream, "405 Method Not Allowed").await;
    }
    let Some(path) = resolve(root, target) else {
        return reply_status(&stream, "400 Bad Request").await;
    };
    let file = match File::open(&path).await {
        Ok(f) => f,
        Err(_) => return reply_status(&stream, "404 Not Found").await,
    };
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return reply_status(&stream, "404 Not Found").await;
    }
    let len = meta.len();
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Length: {len}\r\nContent-Type: {}\r\nConnection: close\r\n\r\n",
        content_type(&path)
    );
    let (res, _) = stream.write_all(head).await;
    res?;
    let sent = match mode {
        Mode::Splice => stream.sendfile(file.shared_fd(), 0, len).await?,
        Mode::Copy => copy_body(&file, &stream, len).await?,
    };
    if sent != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "{} shrank while being sent: {sent} of {len} bytes",
                path.display()
            ),
        ));
    }
    stream.close().await
}

/// The read + write baseline: 256 KiB chunks through one reused buffer.
async fn copy_body(file: &File, stream: &TcpStream, len: u64) -> io::Result<u64> {
    let mut buf = Vec::with_capacity(COPY_CHUNK);
    let mut pos = 0;
    while pos < len {
        let (res, b) = file.read_at(buf, pos).await;
        let n = res?;
        if n == 0 {
            break;
        }
        // The read left exactly n bytes in the buffer, so write_all sends just those.
        let (res, b) = stream.write_all(b).await;
        res?;
        buf = b;
        pos += n as u64;
    }
    Ok(pos)
}

async fn reply_status(stream: &TcpStream, status: &str) -> io::Result<()> {
    let body = format!("{status}\n");
    let msg = format!(
        "HTTP/1.0 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (res, _) = stream.write_all(msg).await;
    res
}

/// Maps a request target to a path under `root`: no `..`, no query string.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?.strip_prefix('/')?;
    let mut out = root.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => "text/html",
        Some("txt") => "text/plain",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Serves a temporary file of `mib` MiB with both modes, interleaved, three rounds, and prints
/// throughput and the server's CPU per GiB sent (the process's CPU minus the client threads'
/// own; on loopback it includes the receive-side kernel work done in the sender's context).
fn bench(mib: usize, conns: usize) -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("ringbolt-file-server-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let size = mib << 20;
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.join("blob"), &data)?;
    // Warm the page cache, so both modes read from memory.
    std::fs::read(dir.join("blob"))?;
    let requests = (2048 / mib).max(4) * conns.max(1); // about 2 GiB per cell and client
    println!("file_server bench: {mib} MiB file, {conns} client(s), {requests} GETs per cell");
    println!(
        "{:<8} {:>6} {:>10} {:>20}",
        "mode", "round", "GiB/s", "server cpu ms / GiB"
    );
    let mut results: Vec<(Mode, f64, f64)> = Vec::new();
    for round in 0..3 {
        for mode in [Mode::Splice, Mode::Copy] {
            let (gibps, cpu) = bench_cell(&dir, mode, size, requests, conns)?;
            println!(
                "{:<8} {round:>6} {gibps:>10.2} {cpu:>20.0}",
                format!("{mode:?}")
            );
            results.push((mode, gibps, cpu));
        }
    }
    for mode in [Mode::Splice, Mode::Copy] {
        let mut g: Vec<f64> = results
            .iter()
            .filter(|r| r.0 == mode)
            .map(|r| r.1)
            .collect();
        let mut c: Vec<f64> = results
            .iter()
            .filter(|r| r.0 == mode)
            .map(|r| r.2)
            .collect();
        g.sort_by(f64::total_cmp);
        c.sort_by(f64::total_cmp);
        println!(
            "median {mode:?}: {:.2} GiB/s, {:.0} server cpu ms / GiB",
            g[1], c[1]
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// One measurement: a one-core server for `requests` connections, `conns` client threads.
fn bench_cell(
    dir: &Path,
    mode: Mode,
    size: usize,
    requests: usize,
    conns: usize,
) -> io::Result<(f64, f64)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let root = dir.to_path_buf();
    let server = std::thread::spawn(move || -> io::Result<()> {
        let rt = ringbolt::Runtime::new()?;
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener);
            serve(
                listener,
                Rc::new(root),
                mode,
                Some(requests),
                CancellationToken::new(),
            )
            .await
        })
    });
    let cpu0 = cpu_time(libc::RUSAGE_SELF);
    let start = Instant::now();
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            let n = requests / conns + usize::from(i < requests % conns);
            std::thread::spawn(move || fetch(addr, n, size))
        })
        .collect();
    let mut client_cpu = Duration::ZERO;
    for c in clients {
        client_cpu += c
            .join()
            .map_err(|_| io::Error::other("client panicked"))??;
    }
    let wall = start.elapsed();
    server
        .join()
        .map_err(|_| io::Error::other("server panicked"))??;
    let cpu = (cpu_time(libc::RUSAGE_SELF) - cpu0).saturating_sub(client_cpu);
    let gib = (requests * size) as f64 / (1u64 << 30) as f64;
    Ok((gib / wall.as_secs_f64(), cpu.as_secs_f64() * 1e3 / gib))
}

/// GETs /blob `n` times, checks each response's length, and returns this thread's CPU time.
fn fetch(addr: SocketAddr, n: usize, size: usize) -> io::Result<Duration> {
    let cpu0 = cpu_time(libc::RUSAGE_THREAD);
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 256 * 1024];
    for _ in 0..n {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.write_all(b"GET /blob HTTP/1.0\r\n\r\n")?;
        let mut total = 0;
        let mut head_len = None;
        loop {
            let k = s.read(&mut buf)?;
            if k == 0 {
                break;
            }
            if head_len.is_none() {
                let end = buf[..k].windows(4).position(|w| w == b"\r\n\r\n");
                head_len = end.map(|e| total + e + 4);
            }
            total += k;
        }
        let body = total - head_len.unwrap_or(total);
        if body != size {
            return Err(io::Error::other(format!("got {body} of {size} body bytes")));
        }
    }
    Ok(cpu_time(libc::RUSAGE_THREAD) - cpu0)
}

/// User + system CPU time of the process (`RUSAGE_SELF`: server, io-wq workers, clients) or
/// of the calling thread (`RUSAGE_THREAD`).
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a valid out pointer.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
