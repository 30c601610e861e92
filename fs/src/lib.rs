//! Files and directories on ringbolt's per-core io_uring, with no thread pool on the data path.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
