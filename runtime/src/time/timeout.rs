//! [`Timeout`]: bound how long a future may take.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::deadline_after;
use super::sleep::{sleep_until, Sleep};

/// Requires `future` to complete within `duration`.
///
/// Resolves to `Ok(output)` if the future completes first, or to `Err(Elapsed)` once the
/// deadline passes; the future is then dropped with the `Timeout`. The future is polled before
/// the deadline is checked, so an already-ready future wins even with `Duration::ZERO`.
///
/// # Timeouts on I/O
///
/// Dropping an I/O future cancels its operation. Stream reads and accepts in `ringbolt_net`
/// are cancel-safe (what the kernel completed anyway is kept for the next read or accept),
/// but the buffer moved into a timed-out read is dropped with it. To time out a read **and get
/// the buffer back**, use the streams' `read_timeout(buf, duration)`; for a raw
/// [`Op`](crate::Op), pass `&mut op` here and on `Err(Elapsed)` call
/// [`Op::cancel`](crate::Op::cancel) and await the op: it returns the output with its buffers
/// (`ECANCELED`, or the result that won the race). See `docs/cancellation.md`.
///
/// # Panics
///
/// Polling the returned future panics outside a ringbolt runtime, unless `future` is ready or
/// the deadline has passed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::time::{sleep, timeout};
///
/// # fn main() -> std::io::Result<()> {
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     assert_eq!(timeout(Duration::from_millis(10), async { 7 }).await, Ok(7));
///     let slow = sleep(Duration::from_secs(3600));
///     assert!(timeout(Duration::from_millis(10), slow).await.is_err());
/// });
/// # Ok(())
/// # }
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    timeout_at(deadline_after(duration), future)
}

/// Requires `future` to complete before `deadline`.
///
/// Same as [`timeout`] with an absolute deadline.
///
/// # Panics
///
/// Polling the returned future panics outside a ringbolt runtime, unless `future` is ready or
/// the deadline has passed.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use ringbolt_runtime::time::timeout_at;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let out = rt.block_on(timeout_at(Instant::now() + Duration::from_millis(10), async { 7 }));
/// assert_eq!(out, Ok(7));
/// # Ok(())
/// # }
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: sleep_until(deadline),
    }
}

/// Future returned by [`timeout`] and [`timeout_at`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<F> {
    /// Structurally pinned: never moved while the `Timeout` is pinned.
    value: F,
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// Gives back the wrapped future and cancels the timer.
    pub fn into_inner(self) -> F {
        self.value
    }

    /// The instant at which the timeout elapses.
    pub fn deadline(&self) -> Instant {
        self.delay.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `value` is structurally pinned and `delay` is not: `Timeout` has no `Drop` impl,
        // is `Unpin` only when `F` is (`Sleep` is `Unpin`), and nothing moves `value` out of a
        // pinned `Timeout`; `this` is used only to re-pin `value` and to poll `delay`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `this.value` stays pinned for as long as `self` is (see above).
        let value = unsafe { Pin::new_unchecked(&mut this.value) };
        if let Poll::Ready(output) = value.poll(cx) {
            // Release the timer now rather than when the `Timeout` is dropped.
            this.delay.deregister();
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut this.delay).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Error returned by [`Timeout`] when its deadline passes first.
///
/// Converts into an [`io::Error`] of kind [`io::ErrorKind::TimedOut`].
///
/// # Examples
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use ringbolt_runtime::time::{sleep, timeout};
///
/// async fn fetch() -> io::Result<u32> {
///     timeout(Duration::from_millis(1), sleep(Duration::from_secs(60))).await?;
///     Ok(1)
/// }
/// # fn main() -> io::Result<()> {
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let err = rt.block_on(fetch()).unwrap_err();
/// assert_eq!(err.kind(), io::ErrorKind::TimedOut);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}
