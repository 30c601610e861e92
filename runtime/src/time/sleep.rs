//! [`Sleep`]: a future that completes at a deadline.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{deadline_after, Registration};
use std::cell::RefCell;
use std::rc::Weak;

/// Waits until `duration` has elapsed.
///
/// The deadline is fixed when `sleep` is called, not when the future is first polled. The timer
/// has 1 ms resolution and never completes early; see the [module docs](super) for how late it
/// can be. A duration too large for [`Instant`] is treated as about 30 years.
///
/// # Panics
///
/// Polling the returned future panics outside a ringbolt runtime, unless the deadline has
/// already passed.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use ringbolt_runtime::time::sleep;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// # Ok(())
/// # }
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(duration))
}

/// Waits until `deadline` is reached.
///
/// A deadline in the past completes on first poll without registering a timer.
///
/// # Panics
///
/// Polling the returned future panics outside a ringbolt runtime, unless the deadline has
/// already passed.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use ringbolt_runtime::time::sleep_until;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(10);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// # Ok(())
/// # }
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        registration: None,
        home: None,
        _not_send: PhantomData,
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// It registers a timer on the current core's wheel the first time it is polled before its
/// deadline; dropping it removes the timer. It is `!Send`: the timer belongs to one core.
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(ringbolt_runtime::time::sleep(std::time::Duration::from_millis(1)));
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    registration: Option<Registration>,
    /// The wheel that holds `registration`: a sleep polled under another runtime (or dropped
    /// outside any) still removes its entry from the wheel it is in.
    home: Option<Weak<RefCell<super::Timers>>>,
    _not_send: PhantomData<*const ()>,
}

impl Sleep {
    /// The instant at which this future completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline to `deadline`, whether or not the previous one has passed.
    ///
    /// A registered timer is moved in place and keeps the waker of the last poll, so the task is
    /// woken at the new deadline even if it does not poll again first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ringbolt_runtime::time::sleep;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let rt = ringbolt_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut delay = sleep(Duration::from_secs(3600));
    ///     delay.reset(Instant::now() + Duration::from_millis(5));
    ///     delay.await;
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(registration) = self.registration {
            let moved =
                crate::time::current::try_with_timers(|t| t.reschedule(&registration, deadline));
            if moved != Some(true) {
                self.deregister();
            }
        }
    }

    /// Removes the registered timer, if any, from the wheel that holds it (whichever runtime
    /// is current), dropping its waker outside the timers' borrow.
    pub(super) fn deregister(&mut self) {
        let home = self.home.take();
        if let Some(registration) = self.registration.take() {
            let Some(timers) = home.and_then(|w| w.upgrade()) else {
                // That runtime is gone, and its wheel with it.
                return;
            };
            let waker = match timers.try_borrow_mut() {
                Ok(mut t) => t.take(&registration),
                Err(_) => None,
            };
            drop(waker);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if Instant::now() >= this.deadline {
            this.deregister();
            return Poll::Ready(());
        }
        // Not due (or woken early, which rule 1 rules out): make sure a timer will wake us.
        let deadline = this.deadline;
        let waker = cx.waker();
        if let Some(r) = this.registration {
            if crate::time::current::try_with_timers(|timers| timers.set_waker(&r, waker))
                == Some(true)
            {
                return Poll::Pending;
            }
            // Fired already, or registered under another runtime: leave that wheel first.
            this.deregister();
        }
        let registration =
            crate::time::current::with_timers(|timers| timers.register(deadline, waker.clone()));
        this.registration = Some(registration);
        this.home = crate::time::current::home();
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}
