//! File-system opcodes: open, stat, sync, allocate, truncate, the path operations, and reads and
//! writes through registered buffers.
//!
//! Rules:
//! 1. Paths travel inside the boxed op as `CString`s, so the pointer in the SQE stays valid until
//!    the final CQE; relative paths resolve against the process's working directory
//!    (`AT_FDCWD`) when the kernel runs the op.
//! 2. Ops that name an open file hold a [`SharedFd`](crate::SharedFd) clone, so the fd outlives
//!    them.
//! 3. An op that creates an fd ([`OpenAt`]) returns it as an `OwnedFd`; if its future was dropped
//!    the fd is closed when the late CQE arrives.
//! 4. Every fd opened here has `O_CLOEXEC`; [`OpenAtDirect`] opens into the ring's table of
//!    direct descriptors instead (a slot, no fd).

mod fallocate;
mod fsync;
mod ftruncate;
mod linkat;
mod mkdirat;
mod openat;
mod read_fixed;
mod renameat;
mod statx;
mod symlinkat;
mod unlinkat;
mod write_fixed;

pub use fallocate::Fallocate;
pub use fsync::Fsync;
pub use ftruncate::{ftruncate, Ftruncate};
pub use linkat::LinkAt;
pub use mkdirat::MkDirAt;
pub use openat::{OpenAt, OpenAtDirect};
pub use read_fixed::ReadFixed;
pub use renameat::RenameAt;
pub use statx::Statx;
pub use symlinkat::SymlinkAt;
pub use unlinkat::UnlinkAt;
pub use write_fixed::WriteFixed;
