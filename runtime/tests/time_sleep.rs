//! `Sleep`: completes no earlier than its deadline, `reset` moves a registered timer, and a
//! sleep whose deadline has passed needs no runtime.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use ringbolt_runtime::time::{sleep, sleep_until, timers_pending};
use ringbolt_runtime::{spawn, Runtime};

#[test]
fn sleep_waits_at_least_its_duration() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        for ms in [1u64, 2, 7, 15] {
            let start = Instant::now();
            let delay = sleep(Duration::from_millis(ms));
            let deadline = delay.deadline();
            assert!(!delay.is_elapsed());
            delay.await;
            assert!(Instant::now() >= deadline);
            assert!(start.elapsed() >= Duration::from_millis(ms));
            assert!(start.elapsed() < Duration::from_secs(5));
        }
        assert_eq!(timers_pending(), 0);
    });
}

#[test]
fn reset_earlier_moves_the_registered_timer() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut delay = Box::pin(sleep(Duration::from_secs(3600)));
        poll_fn(|cx| {
            assert!(delay.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(timers_pending(), 1);
        let target = Instant::now() + Duration::from_millis(10);
        delay.as_mut().reset(target);
        assert_eq!(
            timers_pending(),
            1,
            "reset moves the entry, it does not add one"
        );
        let start = Instant::now();
        (&mut delay).await;
        assert!(Instant::now() >= target);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(delay.is_elapsed());
        assert_eq!(timers_pending(), 0);
    });
}

#[test]
fn reset_wakes_a_task_that_is_parked_on_the_sleep() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let shared = std::rc::Rc::new(std::cell::RefCell::new(Box::pin(sleep(
            Duration::from_secs(3600),
        ))));
        let waiter = {
            let shared = shared.clone();
            spawn(async move {
                poll_fn(|cx| shared.borrow_mut().as_mut().poll(cx)).await;
                Instant::now()
            })
        };
        // Let the waiter park on the hour-long sleep, then pull its deadline in.
        sleep(Duration::from_millis(5)).await;
        assert_eq!(timers_pending(), 1);
        let target = Instant::now() + Duration::from_millis(10);
        shared.borrow_mut().as_mut().reset(target);
        let woke_at = waiter.await.expect("waiter");
        assert!(woke_at >= target);
        assert!(woke_at - target < Duration::from_secs(5));
    });
}

#[test]
fn reset_later_postpones_completion() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut delay = pin!(sleep(Duration::from_millis(1)));
        let target = Instant::now() + Duration::from_millis(30);
        delay.as_mut().reset(target);
        assert_eq!(delay.deadline(), target);
        delay.await;
        assert!(Instant::now() >= target);
    });
}

#[test]
fn elapsed_sleep_completes_outside_a_runtime() {
    let past = Instant::now() - Duration::from_millis(1);
    let mut delay = pin!(sleep_until(past));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert_eq!(delay.as_mut().poll(&mut cx), Poll::Ready(()));
    assert_eq!(timers_pending(), 0);
}

#[test]
fn pending_sleep_outside_a_runtime_panics() {
    let result = std::panic::catch_unwind(|| {
        let mut delay = pin!(sleep(Duration::from_secs(60)));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let _ = delay.as_mut().poll(&mut cx);
    });
    let payload = result.expect_err("polling a pending sleep outside a runtime must panic");
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        message.contains("runtime"),
        "unclear panic message: {message:?}"
    );
}
