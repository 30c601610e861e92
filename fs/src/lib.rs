//! Files and directories on ringbolt's per-core io_uring, with no thread pool on the data path.
//!
//! # Execution model
//!
//! - **Straight to the ring.** Opening, reading, writing, syncing, `statx`, truncating,
//!   allocating and every path operation (rename, unlink, mkdir, link, symlink) is one io_uring
//!   operation on the calling core's ring. Unlike `tokio::fs`, no call is shipped to a thread
//!   pool.
//! - **Page-cache fast path.** A read is first tried at once with `preadv2(RWF_NOWAIT)`,
//!   which never blocks: when the range is in the page cache the data is copied without a
//!   ring round trip, otherwise the op goes to the ring. The results are the same either way.
//!   Adaptive per file (a file whose reads keep missing the cache skips the attempts), never
//!   on direct files, and idle while the ring is batching many ops (there the ring is
//!   cheaper); [`File::set_inline_io`] turns it off. Writes always go to the ring (buffered
//!   `RWF_NOWAIT` writes showed no win: ext4 and tmpfs reject them).
//! - **One exception: directory listing.** io_uring has no `getdents`, so [`read_dir`] lists a
//!   directory on a small blocking helper thread ([`blocking::unblock`]) and hands batches of
//!   entries back through a waker. Nothing else uses it, except [`copy`] restoring permission
//!   bits the umask dropped.
//! - **Buffers by value.** Reads and writes take an owned buffer (`Vec<u8>`, `Box<[u8]>`,
//!   [`AlignedBuf`], [`FixedBuf`], or a [`Slice`](ringbolt_runtime::buf::Slice) of one) and give
//!   it back with the result as a [`BufResult`]: `let (res, buf) = file.read_at(buf, 0).await;`.
//!   A single read or write may be short; `read_exact_at` and `write_all_at` loop.
//! - **Drop is safe.** Dropping a future in flight cancels its operation; buffers stay alive
//!   until the kernel is done with them, and a file the kernel opened anyway is closed.
//!   Dropping a [`File`] closes it after its last in-flight operation; [`File::close`] does the
//!   same through the ring and reports the result.
//! - **Direct I/O** ([`OpenOptions::direct`]) checks every request against the alignments the
//!   file reports and returns `InvalidInput` naming them, never a panic.
//! - **Registered buffers** ([`FixedBufPool`]) are an opt-in: [`File::read_fixed_at`] and
//!   [`File::write_fixed_at`].
//!
//! Everything here must run inside a ringbolt runtime; futures are `!Send` and stay on their
//! core.
//!
//! # Examples
//!
//! ```
//! use ringbolt_fs::{self as fs, File, OpenOptions};
//!
//! let dir = std::env::temp_dir().join(format!("ringbolt-fs-doc-{}", std::process::id()));
//! ringbolt_runtime::Runtime::new()?.block_on(async {
//!     fs::create_dir_all(&dir).await?;
//!     let path = dir.join("out.bin");
//!     let f = OpenOptions::new().write(true).create(true).open(&path).await?;
//!     let (res, _buf) = f.write_all_at(b"hello ring".to_vec(), 0).await;
//!     res?;
//!     f.sync_all().await?;
//!     assert_eq!(f.metadata().await?.len(), 10);
//!     f.close().await?;
//!
//!     let f = File::open(&path).await?;
//!     let (res, buf) = f.read_at(vec![0u8; 4], 6).await;
//!     assert_eq!(res?, 4);
//!     assert_eq!(&buf[..], b"ring");
//!     assert_eq!(fs::read(&path).await?, b"hello ring");
//!
//!     fs::remove_file(&path).await?;
//!     fs::remove_dir(&dir).await
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blocking;
mod copy;
mod dir;
mod direct;
mod file;
mod metadata;
mod open_options;
mod path;

pub use copy::copy;
pub use dir::{create_dir, create_dir_all, read_dir, remove_dir, DirEntry, ReadDir};
pub use direct::DirectAlignment;
pub use file::File;
pub use metadata::{FileType, Metadata};
pub use open_options::OpenOptions;
pub use path::{
    hard_link, metadata, read, read_to_string, remove_file, rename, symlink, symlink_metadata,
    try_exists, write,
};

pub use ringbolt_runtime::buf::aligned::AlignedBuf;
pub use ringbolt_runtime::buf::fixed::{FixedBuf, FixedBufPool};
pub use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
