//! ringbolt echo server: one runtime per server core (`Builder::launch`, pinned to the server
//! cores), each with its own `TcpListener::bind_reuseport` on the same port, the echo loop users
//! write: `read` into an owned buffer, `write_all` the bytes read.
//!
//! `ringbolt-epoll` is this server on the epoll driver (its child process is started with
//! `RINGBOLT_DRIVER=epoll`; every core checks the driver it got before it binds).
//! `ringbolt-poll` (opt-in) serves the same way through the readiness path (`PollIo`).
//!
//! The port is reserved first by a std listener so every core binds the same one; that listener
//! is closed once every core has bound, before `ready` is printed, so it never gets a connection.

use std::future::poll_fn;
use std::io;
use std::sync::mpsc;
use std::time::Duration;

use ringbolt_net::{TcpListener, TcpStream};

use super::{bind_reuseport, exit_on_error};

/// Starts the cores on a background thread; returns the shared port once all are bound.
///
/// # Errors
/// Bind errors, a core failing to start, or the cores not binding within 10 s.
pub fn start(cores: &[usize], buf_size: usize) -> io::Result<u16> {
    launch(cores, buf_size, false)
}

/// [`start`] with the readiness path: each connection echoes through `PollIo` (multishot
/// `POLL_ADD` on the core's ring, then non-blocking `recv`/`send` into one reused buffer).
///
/// # Errors
/// As [`start`].
pub fn start_poll(cores: &[usize], buf_size: usize) -> io::Result<u16> {
    launch(cores, buf_size, true)
}

fn launch(cores: &[usize], buf_size: usize, poll: bool) -> io::Result<u16> {
    let reserve = bind_reuseport(0)?;
    let port = reserve.local_addr()?.port();
    let (bound_tx, bound_rx) = mpsc::channel::<Result<(), String>>();
    let cpus = cores.to_vec();
    let n = cpus.len();
    std::thread::Builder::new()
        .name("ringbolt-launch".into())
        .spawn(move || {
            let res = ringbolt_runtime::Runtime::builder()
                .cores(n)
                .cpus(cpus)
                .launch(|_core| {
                    let bound = bound_tx.clone();
                    async move {
                        if let Err(e) = crate::child::check_driver() {
                            let _ = bound.send(Err(e));
                            return;
                        }
                        let listener = match TcpListener::bind_reuseport(("127.0.0.1", port)) {
                            Ok(l) => l,
                            Err(e) => {
                                let _ = bound.send(Err(e.to_string()));
                                return;
                            }
                        };
                        let _ = bound.send(Ok(()));
                        accept_loop(listener, buf_size, poll).await;
                    }
                });
            exit_on_error("ringbolt", res.map(drop));
        })?;
    for _ in 0..n {
        match bound_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(io::Error::other(format!("ringbolt bind: {e}"))),
            Err(_) => return Err(io::Error::other("ringbolt cores did not bind within 10 s")),
        }
    }
    drop(reserve);
    Ok(port)
}

async fn accept_loop(listener: TcpListener, buf_size: usize, poll: bool) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if stream.set_nodelay(true).is_err() {
                    continue;
                }
                if poll {
                    drop(ringbolt_runtime::spawn(echo_poll(stream, buf_size)));
                } else {
                    drop(ringbolt_runtime::spawn(echo(stream, buf_size)));
                }
            }
            // EMFILE and friends: keep serving existing connections.
            Err(_) => ringbolt_runtime::task::yield_now().await,
        }
    }
}

async fn echo(stream: TcpStream, buf_size: usize) {
    let mut buf = Vec::with_capacity(buf_size);
    loop {
        buf.clear();
        let (res, b) = stream.read(buf).await;
        buf = b;
        let n = match res {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // The read left the vector's length at the bytes received: send it whole.
        debug_assert_eq!(buf.len(), n);
        let (res, b) = stream.write_all(buf).await;
        buf = b;
        if res.is_err() {
            return;
        }
    }
}

/// The readiness-path echo loop: read into a borrowed buffer, write it all back.
async fn echo_poll(stream: TcpStream, buf_size: usize) {
    let mut io = stream.into_poll_io();
    let mut buf = vec![0u8; buf_size];
    loop {
        let n = match poll_fn(|cx| io.poll_read(cx, &mut buf)).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut done = 0;
        while done < n {
            match poll_fn(|cx| io.poll_write(cx, &buf[done..n])).await {
                Ok(0) | Err(_) => return,
                Ok(k) => done += k,
            }
        }
    }
}
