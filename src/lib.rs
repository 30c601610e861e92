//! ringbolt: an io_uring thread-per-core async runtime for Linux.
//!
//! One single-threaded executor and one io_uring per pinned core; tasks are `!Send` and never
//! migrate; sockets and files go straight to the core's ring, with no thread pool on the data
//! path. This crate is the facade: the pieces live in [`runtime`], [`net`] and [`fs`].
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = ringbolt::Runtime::new()?;
//! let v = rt.block_on(async {
//!     let h = ringbolt::spawn(async { 40 + 2 });
//!     ringbolt::time::sleep(Duration::from_millis(1)).await;
//!     h.await.unwrap()
//! });
//! assert_eq!(v, 42);
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ringbolt_fs as fs;
pub use ringbolt_net as net;
pub use ringbolt_runtime as runtime;

pub use ringbolt_runtime::{
    buf, core_id, cores, join, select, spawn, spawn_on, stats, sync, task, time, try_join, Builder,
    Runtime, Stats,
};
