//! monoio echo server: one monoio runtime on its io_uring driver per server core, each thread
//! pinned to its core with its own `SO_REUSEPORT` listener on the same port, and the echo loop
//! monoio's own example writes: `read` into an owned `Vec`, `write_all` it back.

use std::io;
use std::sync::mpsc;
use std::time::Duration;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

use super::{bind_per_core, exit_on_error};
use crate::affinity::pin_current_thread;

/// Starts one pinned thread with a monoio runtime per core; returns the shared port once every
/// core's runtime is up.
///
/// # Errors
/// Bind errors, a runtime that cannot be built (io_uring unavailable), or the cores not starting
/// within 10 s.
pub fn start(cores: &[usize], buf_size: usize) -> io::Result<u16> {
    let (port, listeners) = bind_per_core(cores.len())?;
    let (up_tx, up_rx) = mpsc::channel::<Result<(), String>>();
    for (&core, listener) in cores.iter().zip(listeners) {
        let up = up_tx.clone();
        std::thread::Builder::new()
            .name(format!("monoio-core-{core}"))
            .spawn(move || {
                exit_on_error("pin", pin_current_thread(&[core]));
                let rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new().build();
                let mut rt = match rt {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = up.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = up.send(Err(format!("listener: {e}")));
                            return;
                        }
                    };
                    let _ = up.send(Ok(()));
                    accept_loop(listener, buf_size).await;
                });
            })?;
    }
    for _ in cores {
        match up_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(io::Error::other(format!("monoio {e}"))),
            Err(_) => return Err(io::Error::other("monoio cores did not start within 10 s")),
        }
    }
    Ok(port)
}

async fn accept_loop(listener: TcpListener, buf_size: usize) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if stream.set_nodelay(true).is_ok() {
                    drop(monoio::spawn(echo(stream, buf_size)));
                }
            }
            // EMFILE and friends: keep accepting; existing connections keep being served.
            Err(_) => continue,
        }
    }
}

async fn echo(mut stream: TcpStream, buf_size: usize) {
    let mut buf = Vec::with_capacity(buf_size);
    loop {
        let (res, b) = stream.read(buf).await;
        buf = b;
        match res {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (res, b) = stream.write_all(buf).await;
        buf = b;
        if res.is_err() {
            return;
        }
        buf.clear();
    }
}
