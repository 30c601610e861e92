//! Running a blocking closure off the core: the one place `ringbolt-fs` leaves the ring.
//!
//! io_uring has no `getdents`, so [`read_dir`](crate::read_dir) lists directories here. The
//! pool is the runtime's ([`ringbolt_runtime::task::spawn_blocking`]); [`unblock`] is the
//! shape fs code wants: the closure's value, with a panic resumed in the awaiting task.
//!
//! Dropping the future does not stop the job: it runs to completion on its helper thread and
//! its result is dropped there.

use ringbolt_runtime::task::spawn_blocking;
pub use ringbolt_runtime::task::{BLOCKING_IDLE, MAX_BLOCKING_THREADS};

/// Runs `f` on a helper thread and returns its value; a panic in `f` is resumed here.
///
/// # Examples
///
/// ```
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let n = rt.block_on(ringbolt_fs::blocking::unblock(|| 6 * 7));
/// assert_eq!(n, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn unblock<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            // The pool runs every job it accepts (inline if it cannot start a thread), so a
            // job is never dropped unrun while the process lives.
            Err(e) => panic!("ringbolt blocking job lost: {e}"),
        },
    }
}
