//! TCP, UDP and Unix sockets on ringbolt's per-core io_uring.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
