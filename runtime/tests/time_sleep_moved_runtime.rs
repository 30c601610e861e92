//! A `Sleep` first polled on one runtime and then on another must leave no entry behind in the
//! first runtime's wheel.
mod common;

use ringbolt_runtime::time::sleep;
use ringbolt_runtime::Runtime;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

fn poll_once(rt: &Runtime, s: &mut Pin<Box<ringbolt_runtime::time::Sleep>>) {
    rt.block_on(poll_fn(|cx| {
        assert!(s.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    }));
}

#[test]
fn sleep_moved_to_another_runtime_leaves_the_first_wheel() {
    let a = Runtime::new().unwrap();
    let b = Runtime::new().unwrap();
    let mut s = Box::pin(sleep(Duration::from_secs(3600)));
    poll_once(&a, &mut s);
    assert_eq!(a.stats().timers_pending, 1);
    poll_once(&b, &mut s);
    assert_eq!(
        a.stats().timers_pending,
        0,
        "the first wheel still holds the sleep"
    );
    assert_eq!(b.stats().timers_pending, 1);
    // Dropped outside any runtime: removed from the wheel that holds it.
    drop(s);
    assert_eq!(
        b.stats().timers_pending,
        0,
        "dropping the sleep left its timer behind"
    );
}

#[test]
fn sleep_reset_under_another_runtime_leaves_no_entry() {
    let a = Runtime::new().unwrap();
    let b = Runtime::new().unwrap();
    let mut s = Box::pin(sleep(Duration::from_secs(3600)));
    poll_once(&a, &mut s);
    b.block_on(async {
        s.as_mut()
            .reset(std::time::Instant::now() + Duration::from_millis(5));
        s.as_mut().await;
    });
    assert_eq!(a.stats().timers_pending, 0);
    assert_eq!(b.stats().timers_pending, 0);
}
