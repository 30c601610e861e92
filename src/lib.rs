//! ringbolt: an io_uring thread-per-core async runtime for Linux.
//!
//! This crate is a facade: the runtime lives in [`ringbolt_runtime`], sockets in
//! [`net`] and files in [`fs`].
pub use ringbolt_fs as fs;
pub use ringbolt_net as net;
