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
//!
//! # Attribute macros
//!
//! [`main`] and [`test`] start the runtime around an `async fn`:
//!
//! ```
//! #[ringbolt::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = ringbolt::net::TcpListener::bind("127.0.0.1:0")?;
//!     println!("listening on {}", listener.local_addr()?);
//!     Ok(())
//! }
//! ```
//!
//! `cores = N` (or `cores = "all"`) runs the body on `N` pinned cores with
//! [`Builder::launch`]; `main` then returns `()` or `Result<(), E>`, the first core's error:
//!
//! ```
//! #[ringbolt::main(cores = 2)]
//! async fn main() -> std::io::Result<()> {
//!     // Runs on every core; a server binds its per-core listener here
//!     // (`TcpListener::bind_reuseport`).
//!     assert_eq!(ringbolt::cores(), 2);
//!     println!("core {} of {}", ringbolt::core_id(), ringbolt::cores());
//!     Ok(())
//! }
//! ```
//!
//! Unknown or malformed arguments are compile errors that say what is expected:
//!
//! ```compile_fail
//! #[ringbolt::main(cores = "many")] // error: `cores` takes a number of cores or "all"
//! async fn main() {}
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ringbolt_fs as fs;
pub use ringbolt_net as net;
pub use ringbolt_runtime as runtime;

/// Runs an `async fn main` on ringbolt: one runtime on the main thread, or with
/// `cores = N` / `cores = "all"`, [`Builder::launch`] on that many pinned cores. See the
/// [crate docs](crate#attribute-macros).
pub use ringbolt_macros::main;
/// Runs an `async fn` test on a fresh one-core runtime; `timeout_ms = N` (or
/// `timeout = "5s"`) fails it with "timed out" if it is still pending then.
///
/// ```
/// #[ringbolt::test(timeout_ms = 5000)]
/// async fn sleeps() {
///     ringbolt::time::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
pub use ringbolt_macros::test;

pub use ringbolt_runtime::{
    buf, core_id, cores, driver_kind, io, join, metrics, select, shutdown, signal, spawn, spawn_on,
    stall, stats, sync, task, time, try_join, Builder, DriverKind, Runtime, Stats,
};

/// Support for the attribute macros' expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    /// What `#[ringbolt::main(cores = ...)]` may return: one value from every core's output.
    #[diagnostic::on_unimplemented(
        message = "with `cores = ...`, `#[ringbolt::main]` must return `()` or `Result<(), E>`",
        label = "this return type cannot combine the cores' results"
    )]
    pub trait MainOutput: Sized {
        /// The first failure in core order, or success.
        fn first_failure(results: Vec<Self>) -> Self;
    }

    impl MainOutput for () {
        fn first_failure(_: Vec<()>) {}
    }

    impl<E> MainOutput for Result<(), E> {
        fn first_failure(results: Vec<Self>) -> Self {
            results.into_iter().collect()
        }
    }
}
