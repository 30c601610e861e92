//! [`Interval`]: ticks at a fixed period.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::far_future;
use super::sleep::{sleep_until, Sleep};

/// How late a tick may be before it counts as missed (tokio uses the same tolerance).
const MISSED_TOLERANCE: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first tick completing immediately.
///
/// Shorthand for [`interval_at`]`(Instant::now(), period)`.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::time::interval;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let mut ticks = interval(Duration::from_millis(10));
///     let first = ticks.tick().await; // immediately
///     let second = ticks.tick().await; // 10 ms later
///     assert_eq!(second - first, Duration::from_millis(10));
/// });
/// # Ok(())
/// # }
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks at `start`, then every `period` after it.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use ringbolt_runtime::time::interval_at;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let start = Instant::now() + Duration::from_millis(20);
///     let mut ticks = interval_at(start, Duration::from_millis(10));
///     assert_eq!(ticks.tick().await, start);
/// });
/// # Ok(())
/// # }
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero");
    Interval {
        delay: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed, i.e. when a tick is collected more than
/// 5 ms after it was scheduled (the task was busy or blocked).
///
/// Take a 10 ms period started at `t0`, and a stall so that the tick scheduled at `t0 + 10`
/// is only collected at `t0 + 35`:
///
/// | behaviour | later ticks are scheduled at |
/// |---|---|
/// | `Burst` | `t0 + 20`, `t0 + 30` (both at once, immediately), then `t0 + 40`, ... |
/// | `Delay` | `t0 + 45`, `t0 + 55`, ...: a full period after each late tick |
/// | `Skip` | `t0 + 40`, `t0 + 50`, ...: the next multiple of the period from `t0` |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, as fast as they are polled, until caught up. The default.
    #[default]
    Burst,
    /// Restart the schedule from the late tick: the next tick is one period after it.
    Delay,
    /// Drop the missed ticks and resume on the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline following a tick scheduled for `timeout` and collected late, at `now`.
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout.checked_add(period),
            MissedTickBehavior::Delay => now.checked_add(period),
            MissedTickBehavior::Skip => {
                // The first `timeout + k * period` after `now`.
                let behind_ns = now.saturating_duration_since(timeout).as_nanos();
                let into_period_ns = behind_ns % period.as_nanos();
                let into_period = Duration::new(
                    u64::try_from(into_period_ns / 1_000_000_000).unwrap_or(u64::MAX),
                    (into_period_ns % 1_000_000_000) as u32,
                );
                now.checked_add(period - into_period)
            }
        }
        .unwrap_or_else(far_future)
    }
}

/// A stream of ticks, created by [`interval`] or [`interval_at`].
///
/// Each tick resolves to the instant it was scheduled for. Between ticks the interval holds
/// one timer on the current core's wheel, removed when the interval is dropped.
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// Cancel safe: dropping the returned future before it completes loses no tick.
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime if the tick is not due yet.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; the building block of [`tick`](Self::tick).
    ///
    /// On `Pending`, the waker of `cx` is woken when the tick is due.
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime if the tick is not due yet.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let timeout = self.delay.deadline();
        let now = Instant::now();
        let next = if now.saturating_duration_since(timeout) > MISSED_TOLERANCE {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            timeout.checked_add(self.period).unwrap_or_else(far_future)
        };
        self.delay.reset(next);
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_at(
            Instant::now()
                .checked_add(self.period)
                .unwrap_or_else(far_future),
        );
    }

    /// Restarts the schedule with a tick due immediately.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Restarts the schedule with the next tick at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.reset(deadline);
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The current [`MissedTickBehavior`].
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what happens when ticks are missed; see [`MissedTickBehavior`].
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}
