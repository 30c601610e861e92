//! `timeout` resolves to `Elapsed` on a pending future and passes a ready value through.

use std::future::{pending, poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use ringbolt_runtime::time::{sleep, timeout, timeout_at, timers_pending, Elapsed};
use ringbolt_runtime::Runtime;

#[test]
fn pending_future_times_out_no_earlier_than_the_deadline() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let start = Instant::now();
        let out = timeout(Duration::from_millis(30), pending::<u32>()).await;
        let waited = start.elapsed();
        let _: Elapsed = out.expect_err("a pending future must time out");
        assert!(
            waited >= Duration::from_millis(30),
            "timed out after {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(5),
            "timed out only after {waited:?}"
        );
        assert_eq!(timers_pending(), 0);
    });
}

#[test]
fn ready_future_passes_its_value_through() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        assert_eq!(timeout(Duration::from_secs(60), async { 42 }).await, Ok(42));
        // Polled before the deadline is checked: a ready future wins even with no time at all.
        assert_eq!(timeout(Duration::ZERO, async { "now" }).await, Ok("now"));
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(timeout_at(past, async { 7u8 }).await, Ok(7));
        assert_eq!(
            timers_pending(),
            0,
            "a ready future must not leave a timer behind"
        );
    });
}

#[test]
fn future_finishing_before_the_deadline_wins_and_releases_the_timer() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let start = Instant::now();
        let slow_enough = async {
            sleep(Duration::from_millis(10)).await;
            "done"
        };
        let mut fut = pin!(timeout(Duration::from_secs(60), slow_enough));
        let mut polls = 0;
        let out = poll_fn(|cx| {
            polls += 1;
            let poll = fut.as_mut().poll(cx);
            if poll.is_pending() {
                // The inner sleep and the timeout's own timer.
                assert_eq!(timers_pending(), 2);
            }
            poll
        })
        .await;
        assert_eq!(out, Ok("done"));
        assert!(polls >= 2, "the inner sleep must have been pending once");
        assert!(start.elapsed() < Duration::from_secs(30));
        assert_eq!(
            timers_pending(),
            0,
            "the 60 s timer must go as soon as the Timeout completes"
        );
    });
}

#[test]
fn pending_timeout_dropped_early_removes_its_timer() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut fut = Box::pin(timeout(Duration::from_secs(60), pending::<()>()));
        let first = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        assert_eq!(timers_pending(), 1);
        drop(fut);
        assert_eq!(timers_pending(), 0);
    });
}

#[test]
fn elapsed_is_an_error_and_converts_to_timed_out() {
    let rt = Runtime::new().expect("runtime");
    let err = rt
        .block_on(timeout(Duration::from_millis(1), pending::<()>()))
        .expect_err("must time out");
    assert_eq!(err.to_string(), "deadline has elapsed");
    let dyn_err: &dyn std::error::Error = &err;
    assert!(dyn_err.source().is_none());
    let io_err = io::Error::from(err);
    assert_eq!(io_err.kind(), io::ErrorKind::TimedOut);

    async fn with_question_mark() -> io::Result<()> {
        timeout(Duration::from_millis(1), pending::<()>()).await?;
        Ok(())
    }
    let err = rt
        .block_on(with_question_mark())
        .expect_err("must time out");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
}
