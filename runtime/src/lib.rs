//! ringbolt's runtime: one single-threaded executor and one io_uring per pinned core.
//!
//! # Execution model
//!
//! - **One runtime per core.** A [`Runtime`] owns an executor, an io_uring and a timer wheel,
//!   and lives on the thread that built it. [`Builder::launch`] starts one pinned thread per
//!   core, each with its own runtime; cores share nothing and talk only through explicit
//!   messages. Tasks are `!Send` and never migrate. [`Waker`](std::task::Waker)s are
//!   `Send + Sync`: a wake from another thread goes through the core's remote queue and rings
//!   its io_uring (`IORING_OP_MSG_RING` from another core, an eventfd from a plain thread).
//! - **Completion-based I/O.** Every operation is an [`Op`] future over an io_uring SQE. Each
//!   loop turn submits the whole batch and waits for completions with one `io_uring_enter`.
//! - **Buffers by value.** Ops take owned buffers ([`buf::IoBuf`], [`buf::IoBufMut`]) and
//!   give them back with the result as a [`buf::BufResult`], on success and on error. A read
//!   leaves a buffer holding exactly the bytes read. The [`io`] traits
//!   ([`io::AsyncReadOwned`], [`io::AsyncWriteOwned`]) make code generic over streams.
//! - **Dropping an op cancels it**, and its buffers stay alive until the kernel has posted the
//!   op's final completion; a resource created by an op nobody waits for any more (an accepted
//!   fd) is released when its completion arrives.
//! - **Stopping is part of the model.** [`signal`] receives Unix signals through the ring, and
//!   [`Builder::launch_with_shutdown`] stops every core on one [`shutdown::Shutdown`]: tokens
//!   cancelled, tasks drained until a deadline, the rest aborted and counted; the first core
//!   that fails stops the others.
//! - **No io_uring, no runtime.** If the kernel or a sandbox forbids io_uring,
//!   [`Runtime::new`] returns an error saying why (seccomp, `kernel.io_uring_disabled`, old
//!   kernel, `RLIMIT_MEMLOCK`) and how to fix it.
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = ringbolt_runtime::Runtime::new()?;
//! let sum = rt.block_on(async {
//!     let a = ringbolt_runtime::spawn(async { 1 });
//!     let b = ringbolt_runtime::spawn(async {
//!         ringbolt_runtime::time::sleep(Duration::from_millis(1)).await;
//!         2
//!     });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(sum, 3);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Thread-bound by construction
//!
//! A runtime, its ops and its task handles never leave their thread:
//!
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! assert_send(ringbolt_runtime::Runtime::new().unwrap());
//! ```
//!
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! assert_send(ringbolt_runtime::ops::Nop::op());
//! ```
#![warn(missing_docs)]

pub mod buf;
mod builder;
mod clock;
mod combinators;
mod context;
mod driver;
mod executor;
mod group;
mod launch;
#[macro_use]
mod macros;
pub mod io;
pub mod metrics;
pub mod readiness;
mod runtime;
pub mod shutdown;
pub mod signal;
pub mod stall;
pub mod sync;
pub mod time;

pub use builder::Builder;
#[cfg(feature = "fault-injection")]
pub use driver::fault;
pub use driver::ops;
pub use driver::ops::{DirectFd, RingFd};
pub use driver::{CqeResult, MultiOp, MultishotOpCode, Op, OpCode, Salvage, SharedFd};
pub use executor::remote::CrossWake;
pub use executor::spawn;
pub use executor::spawn_on::{cores, spawn_on, RemoteJoinHandle};
pub use runtime::{core_id, stats, Runtime, Stats};

/// Task handles and helpers.
pub mod task {
    pub use crate::combinators::{join_all, select, try_join_all, Either};
    pub use crate::executor::blocking::{spawn_blocking, BLOCKING_IDLE, MAX_BLOCKING_THREADS};
    pub use crate::executor::join::{JoinError, JoinHandle};
    pub use crate::executor::spawn;
    pub use crate::executor::spawn_on::{spawn_on, RemoteJoinHandle};
    pub use crate::executor::yield_now;
    pub use crate::group::JoinSet;
    pub use crate::shutdown::TaskTracker;
}

/// The opcode types an [`Op`] can carry, re-exported from the `io-uring` crate, for checking
/// kernel support with [`is_supported`].
pub use io_uring::opcode;

/// Whether the current core's kernel supports an io_uring opcode (from the probe made at
/// start), e.g. `is_supported(ringbolt_runtime::opcode::AcceptMulti::CODE)`.
///
/// # Panics
///
/// Panics outside a runtime.
pub fn is_supported(opcode: u8) -> bool {
    crate::driver::current::with_driver(|d| d.is_supported(opcode))
}

/// What the current core's ring was set up with (DEFER_TASKRUN, COOP_TASKRUN, ...) and which
/// optional kernel features it found.
///
/// # Panics
///
/// Panics outside a runtime.
pub fn ring_features() -> Features {
    crate::driver::current::with_driver(|d| d.features())
}

/// The io_uring `SetupError` carried inside the `io::Error` of a failed [`Runtime::new`], and
/// the choice of driver.
pub use driver::{DriverKind, Features, SetupError};

/// The driver carrying the current core's I/O: [`DriverKind::IoUring`] or
/// [`DriverKind::Epoll`] (never `Auto`).
///
/// # Panics
///
/// Panics outside a runtime.
pub fn driver_kind() -> DriverKind {
    crate::driver::current::with_driver(|d| d.kind())
}
