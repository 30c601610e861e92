//! `Notify::notify_last`: when the waiter it picked is dropped before it observes the
//! notification, the notification goes to the next *newest* waiter (not the oldest), and
//! `notify_one`'s picks still pass on to the next oldest.

mod common;

use common::run;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use ringbolt_runtime::sync::Notify;

#[test]
fn dropped_notify_last_pick_passes_to_the_next_newest_waiter() {
    run(async {
        let notify = Notify::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut oldest = pin!(notify.notified());
        let mut middle = pin!(notify.notified());
        assert!(oldest.as_mut().poll(&mut cx).is_pending());
        assert!(middle.as_mut().poll(&mut cx).is_pending());
        {
            let mut newest = pin!(notify.notified());
            assert!(newest.as_mut().poll(&mut cx).is_pending());
            notify.notify_last(); // picks `newest` ...
        } // ... which is dropped before it sees it.
        assert!(
            middle.as_mut().poll(&mut cx).is_ready(),
            "the notification must pass to the next newest waiter"
        );
        assert!(
            oldest.as_mut().poll(&mut cx).is_pending(),
            "the oldest waiter must not get notify_last's notification"
        );
        // No permit was stored on the way.
        notify.notify_waiters();
        assert!(oldest.as_mut().poll(&mut cx).is_ready());
        let mut fresh = pin!(notify.notified());
        assert!(fresh.as_mut().poll(&mut cx).is_pending(), "no stray permit");
    });
}

#[test]
fn dropped_notify_one_pick_still_passes_to_the_next_oldest_waiter() {
    run(async {
        let notify = Notify::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = Box::pin(notify.notified());
        let mut second = pin!(notify.notified());
        let mut third = pin!(notify.notified());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert!(third.as_mut().poll(&mut cx).is_pending());
        notify.notify_one(); // picks `first`
        drop(first);
        assert!(second.as_mut().poll(&mut cx).is_ready());
        assert!(third.as_mut().poll(&mut cx).is_pending());
    });
}

#[test]
fn dropped_notify_last_pick_with_nobody_left_stores_a_permit() {
    run(async {
        let notify = Notify::new();
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut only = pin!(notify.notified());
            assert!(only.as_mut().poll(&mut cx).is_pending());
            notify.notify_last();
        }
        let mut next = pin!(notify.notified());
        assert!(next.as_mut().poll(&mut cx).is_ready(), "the permit is kept");
    });
}
