//! tokio multi-thread runtime with one worker per server core, one listener.
//!
//! The handler is the echo loop users write: `read` into a buffer, `write_all` it back.

use std::io;
use std::net::TcpListener;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{bind_reuseport, exit_on_error};

/// Starts the runtime on its own thread (workers inherit the process's server-core mask).
///
/// # Errors
/// Bind or runtime construction errors.
pub fn start(cores: &[usize], buf_size: usize) -> io::Result<u16> {
    let listener = bind_reuseport(0)?;
    let port = listener.local_addr()?.port();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.len().max(1))
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("tokio-mt".into())
        .spawn(move || exit_on_error("tokio-mt", rt.block_on(accept_loop(listener, buf_size))))?;
    Ok(port)
}

/// Accepts forever, one spawned task per connection (shared with the per-core server).
pub(crate) async fn accept_loop(listener: TcpListener, buf_size: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                stream.set_nodelay(true)?;
                tokio::spawn(echo(stream, buf_size));
            }
            // EMFILE and friends: keep serving existing connections.
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

async fn echo(mut stream: tokio::net::TcpStream, buf_size: usize) {
    let mut buf = vec![0u8; buf_size];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
