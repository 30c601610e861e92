//! tokio `current_thread` runtime per server core, each with its own `SO_REUSEPORT` listener on
//! the same port: the strongest tokio setup (what per-core tokio users such as Pingora run).

use std::io;

use super::tokio_mt::accept_loop;
use super::{bind_per_core, exit_on_error};
use crate::affinity::pin_current_thread;

/// Starts one pinned thread with a current-thread runtime per core; returns the shared port.
///
/// # Errors
/// Bind or runtime construction errors.
pub fn start(cores: &[usize], buf_size: usize) -> io::Result<u16> {
    let (port, listeners) = bind_per_core(cores.len())?;
    for (&core, listener) in cores.iter().zip(listeners) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("tokio-core-{core}"))
            .spawn(move || {
                exit_on_error("pin", pin_current_thread(&[core]));
                exit_on_error(
                    "tokio-percore",
                    rt.block_on(accept_loop(listener, buf_size)),
                );
            })?;
    }
    Ok(port)
}
