//! File-system opcodes (openat, statx, fsync, ...): filled in by the fs work.
