//! Timers: [`sleep`], [`timeout`] and [`interval`] over a per-core hierarchical timer wheel.
//!
//! Each core's executor owns one `Timers`; a timer lives on the core whose task first polled it
//! and is never seen by another core. The executor asks `Timers::next_timeout` how long it may
//! park in `io_uring_enter`, then calls `Timers::process` once per loop turn and wakes what fired.
//!
//! Rules:
//! 1. Time is counted in 1 ms ticks from the moment the core's `Timers` was created. A deadline
//!    maps to the tick that rounds it *up*, and `process(now)` advances to the tick that rounds
//!    `now` *down*, so no timer ever fires before its deadline. Timers are therefore late by up to
//!    1 ms plus however long the core takes to come back to its loop.
//! 2. As a second guard, [`Sleep`] compares `Instant::now()` with its deadline on every poll, and
//!    re-arms itself if it was woken early.
//! 3. A timer touches the wheel only when it is polled while its deadline is still ahead:
//!    `sleep(Duration::ZERO).await` never inserts anything.
//! 4. Dropping a [`Sleep`] (and so a [`Timeout`] or an [`Interval`]) removes its entry in O(1) and
//!    releases its waker; [`timers_pending`] goes back down.
//! 5. Timer futures are `!Send`: they belong to the core whose wheel holds them.

pub(crate) mod current;
mod interval;
mod sleep;
mod timeout;
mod wheel;

use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

use wheel::{TimerKey, Wheel, MAX_TICK};

/// Nanoseconds per wheel tick.
const TICK_NS: u128 = 1_000_000;

/// Number of timers registered in the current core's wheel.
///
/// A diagnostic: the count includes every [`Sleep`], [`Timeout`] and [`Interval`] that was polled
/// while its deadline was ahead and has neither fired nor been dropped since. Returns 0 outside a
/// runtime.
///
/// # Examples
///
/// ```
/// assert_eq!(ringbolt_runtime::time::timers_pending(), 0);
/// ```
pub fn timers_pending() -> usize {
    crate::time::current::try_with_timers(|timers| timers.len()).unwrap_or(0)
}

/// An instant about 30 years from now, used where `now + duration` would overflow.
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(now)
}

/// `now + duration`, saturating at [`far_future`].
fn deadline_after(duration: Duration) -> Instant {
    Instant::now()
        .checked_add(duration)
        .unwrap_or_else(far_future)
}

/// A timer's place in one particular core's [`Timers`].
#[derive(Clone, Copy, Debug)]
struct Registration {
    timers_id: u64,
    key: TimerKey,
}

/// One core's timers: the wheel plus the instant its tick 0 stands for.
pub(crate) struct Timers {
    wheel: Wheel,
    origin: Instant,
    /// Unique per `Timers`, so a registration made under one runtime is never applied to another.
    id: u64,
}

impl Timers {
    /// Empty timers whose tick 0 is now.
    pub(crate) fn new() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Timers {
            wheel: Wheel::new(),
            origin: Instant::now(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// How long the core may park before the next timer is due: `None` if no timer is pending,
    /// `Some(Duration::ZERO)` if one is due already.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let tick = self.wheel.next_expiration()?;
        // An instant past what `Instant` can hold is as good as never.
        let at = self.origin.checked_add(Duration::from_millis(tick))?;
        Some(at.saturating_duration_since(now))
    }

    /// Fires every timer whose deadline is at or before `now`, pushing their wakers to `fired`
    /// for the caller to wake once it no longer borrows the timers.
    pub(crate) fn process(&mut self, now: Instant, fired: &mut Vec<Waker>) {
        let tick = now.saturating_duration_since(self.origin).as_millis();
        self.wheel
            .advance(u64::try_from(tick).unwrap_or(MAX_TICK), fired);
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.wheel.len()
    }

    /// The first tick at or after `deadline` (rule 1).
    fn tick_for(&self, deadline: Instant) -> u64 {
        let ns = deadline.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(ns.div_ceil(TICK_NS)).unwrap_or(MAX_TICK)
    }

    fn register(&mut self, deadline: Instant, waker: Waker) -> Registration {
        let key = self.wheel.insert(self.tick_for(deadline), waker);
        Registration {
            timers_id: self.id,
            key,
        }
    }

    /// Updates the waker of a pending timer; `false` if it is not pending here.
    fn set_waker(&mut self, registration: &Registration, waker: &Waker) -> bool {
        registration.timers_id == self.id && self.wheel.set_waker(registration.key, waker)
    }

    /// Moves a pending timer to `deadline`; `false` if it is not pending here.
    fn reschedule(&mut self, registration: &Registration, deadline: Instant) -> bool {
        let tick = self.tick_for(deadline);
        registration.timers_id == self.id && self.wheel.reschedule(registration.key, tick)
    }

    /// Cancels a timer and returns its waker, to be dropped outside the borrow of the timers.
    fn take(&mut self, registration: &Registration) -> Option<Waker> {
        if registration.timers_id != self.id {
            return None;
        }
        self.wheel.take(registration.key)
    }
}
