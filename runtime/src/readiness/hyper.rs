//! hyper glue that needs `unsafe` (feature `hyper`): filling a `hyper::rt::ReadBufCursor` from a
//! non-blocking `recv`, and a timer sleep that hyper may hold as `Send + Sync`.

use crate::driver::SharedFd;
use crate::time::Sleep;
use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use std::time::Instant;

impl SharedFd {
    /// One `recv(2)` with `MSG_DONTWAIT` into the unfilled part of a hyper read cursor, without
    /// zeroing it first; advances the cursor by what arrived and returns that count.
    ///
    /// # Errors
    ///
    /// As [`recv_nonblocking`](SharedFd::recv_nonblocking): `WouldBlock` when no data is queued.
    pub fn recv_nonblocking_hyper(
        &self,
        cursor: &mut hyper::rt::ReadBufCursor<'_>,
    ) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        // SAFETY: we only hand the unfilled bytes to the kernel to write into; nothing
        // uninitialised is read, and nothing is de-initialised.
        let unfilled = unsafe { cursor.as_mut() };
        let (ptr, len) = (unfilled.as_mut_ptr(), unfilled.len());
        // SAFETY: `ptr..ptr+len` is writable memory borrowed from the cursor for the whole
        // call, and the fd is open while `self` lives.
        let n = super::retry(|| unsafe { libc::recv(fd, ptr.cast(), len, libc::MSG_DONTWAIT) })?;
        // SAFETY: the kernel initialised the first `n <= len` unfilled bytes.
        unsafe { cursor.advance(n) };
        Ok(n)
    }
}

/// A ringbolt [`Sleep`] that hyper can hold: `hyper::rt::Sleep` must be `Send + Sync`, and a
/// timer on a per-core wheel is neither.
///
/// Sound because the inner `Sleep` is touched only on the thread that made it: polled from
/// another thread it reports an error-free `Pending` forever after logging nothing (hyper never
/// does this: a connection and its timers stay on one core), and dropped on another thread it
/// is leaked rather than dropped.
pub struct HyperSleep {
    inner: std::mem::ManuallyDrop<Sleep>,
    owner: ThreadId,
}

impl HyperSleep {
    /// A sleep until `deadline` on the current core's timer wheel.
    pub fn until(deadline: Instant) -> HyperSleep {
        HyperSleep {
            inner: std::mem::ManuallyDrop::new(crate::time::sleep_until(deadline)),
            owner: thread::current().id(),
        }
    }
}

// SAFETY: the inner `Sleep` (an `Rc`-style, thread-bound timer) is only polled and dropped on
// `owner`'s thread: `poll` checks the thread first, and `drop` leaks it elsewhere.
unsafe impl Send for HyperSleep {}
// SAFETY: `&HyperSleep` gives no access to the inner `Sleep` at all.
unsafe impl Sync for HyperSleep {}

impl Future for HyperSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if thread::current().id() != self.owner {
            return Poll::Pending;
        }
        // `Sleep` is `Unpin`, and `inner` is never moved out.
        Pin::new(&mut *self.inner).poll(cx)
    }
}

impl Drop for HyperSleep {
    fn drop(&mut self) {
        if thread::current().id() == self.owner {
            // SAFETY: `inner` is dropped exactly once, here, on its own thread.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.inner) };
        }
    }
}

impl hyper::rt::Sleep for HyperSleep {}

/// A `hyper::rt::Timer` on the current core's timer wheel (1 ms resolution, never early).
///
/// Give it to hyper's builders (`.timer(HyperTimer)`) for header-read timeouts and HTTP/2
/// keep-alive. Each connection's timers live on the core that serves it.
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperTimer;

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: std::time::Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = Instant::now()
            .checked_add(duration)
            .unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(86_400 * 365));
        Box::pin(HyperSleep::until(deadline))
    }
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep::until(deadline))
    }
}

/// A `hyper::rt::Executor` that spawns onto the current core ([`crate::spawn`]): the tasks
/// hyper starts (HTTP/2 streams, connection drivers) stay on the core of the connection and
/// need not be `Send`.
///
/// # Panics
///
/// `execute` panics outside a ringbolt runtime, as [`crate::spawn`] does.
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperExecutor;

impl<F> hyper::rt::Executor<F> for HyperExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        drop(crate::spawn(fut));
    }
}
