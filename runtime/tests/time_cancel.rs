//! Dropping timers removes their wheel entries and releases their wakers.

use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use ringbolt_runtime::time::{interval, sleep, timeout, timers_pending, Sleep};
use ringbolt_runtime::Runtime;

const SLEEPS: usize = 10_000;

/// A waker whose clones are counted by `Arc::strong_count`; waking it does nothing.
struct Counted;

impl Wake for Counted {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn ten_thousand_dropped_sleeps_leave_the_wheel_empty() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let counted = Arc::new(Counted);
        let waker = Waker::from(counted.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(timers_pending(), 0);

        let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..SLEEPS)
            .map(|i| Box::pin(sleep(Duration::from_secs(60 + i as u64))))
            .collect();
        assert_eq!(
            timers_pending(),
            0,
            "creating a Sleep must not touch the wheel"
        );
        for s in &mut sleeps {
            assert_eq!(s.as_mut().poll(&mut cx), Poll::Pending);
        }
        assert_eq!(timers_pending(), SLEEPS);
        // `counted`, `waker`, and one clone per wheel entry.
        assert_eq!(Arc::strong_count(&counted), 2 + SLEEPS);

        // Polling again with the same waker reuses the entry and skips the clone.
        for s in sleeps.iter_mut().take(100) {
            assert_eq!(s.as_mut().poll(&mut cx), Poll::Pending);
        }
        assert_eq!(timers_pending(), SLEEPS);
        assert_eq!(Arc::strong_count(&counted), 2 + SLEEPS);

        drop(sleeps);
        assert_eq!(timers_pending(), 0);
        assert_eq!(
            Arc::strong_count(&counted),
            2,
            "dropped sleeps must release their wakers"
        );
    });
}

#[test]
fn dropped_timeout_and_interval_release_their_timers() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let counted = Arc::new(Counted);
        let waker = Waker::from(counted.clone());
        let mut cx = Context::from_waker(&waker);

        let mut guarded = Box::pin(timeout(Duration::from_secs(60), pending::<()>()));
        assert!(guarded.as_mut().poll(&mut cx).is_pending());
        let mut ticks = interval(Duration::from_secs(60));
        assert!(
            ticks.poll_tick(&mut cx).is_ready(),
            "the first tick is immediate"
        );
        assert!(ticks.poll_tick(&mut cx).is_pending());
        assert_eq!(timers_pending(), 2);

        drop(guarded);
        assert_eq!(timers_pending(), 1);
        drop(ticks);
        assert_eq!(timers_pending(), 0);
        assert_eq!(Arc::strong_count(&counted), 2);
    });
}

#[test]
fn an_elapsed_sleep_never_touches_the_wheel() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let counted = Arc::new(Counted);
        let waker = Waker::from(counted.clone());
        let mut cx = Context::from_waker(&waker);
        let mut zero = Box::pin(sleep(Duration::ZERO));
        assert_eq!(zero.as_mut().poll(&mut cx), Poll::Ready(()));
        assert_eq!(timers_pending(), 0);
        assert_eq!(Arc::strong_count(&counted), 2, "the waker was never stored");
    });
}
