//! ringbolt fs contender: QD tasks on one ringbolt core, `File::open` + `read_at`.
//!
//! Not yet available: `ringbolt-fs` has no `File` in this build. The contender is left out of
//! the default list until it does.

use std::io;

use super::worker::{Recorder, Window};
use super::FileSpec;

/// Whether this build has a ringbolt file contender.
pub const AVAILABLE: bool = false;

/// Would run the ringbolt contender; for now says why it cannot.
///
/// # Errors
/// Always: ringbolt's fs layer is not yet available.
pub fn run(_spec: &FileSpec, _window: &Window) -> io::Result<Recorder> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "ringbolt file contender not yet available (ringbolt-fs has no File yet)",
    ))
}
