//! `Interval` ticks at its period, and each `MissedTickBehavior` recovers from a stall as documented.

use std::time::{Duration, Instant};

use ringbolt_runtime::time::{interval, interval_at, MissedTickBehavior};
use ringbolt_runtime::Runtime;

const PERIOD: Duration = Duration::from_millis(20);
/// The task blocks its core for this long, missing three ticks (at 20, 40 and 60 ms).
const STALL: Duration = Duration::from_millis(70);
/// Upper bound on how late a tick may come back on a busy shared machine.
const SLACK: Duration = Duration::from_millis(500);

#[test]
fn ticks_at_the_period_and_never_early() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let start = Instant::now() + Duration::from_millis(5);
        let mut ticks = interval_at(start, PERIOD);
        assert_eq!(ticks.period(), PERIOD);
        assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
        for k in 0..5u32 {
            let scheduled = ticks.tick().await;
            let now = Instant::now();
            assert_eq!(
                scheduled,
                start + PERIOD * k,
                "tick {k} reports its schedule"
            );
            assert!(
                now >= scheduled,
                "tick {k} came {:?} early",
                scheduled - now
            );
            assert!(
                now - scheduled < SLACK,
                "tick {k} came {:?} late",
                now - scheduled
            );
        }
    });
}

#[test]
fn first_tick_of_interval_is_immediate() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let before = Instant::now();
        let mut ticks = interval(Duration::from_secs(3600));
        let first = ticks.tick().await;
        assert!(first >= before);
        assert!(before.elapsed() < SLACK);
    });
}

/// Ticks once, stalls the core for `STALL`, and returns `(t0, stall_end, next ticks)`.
async fn stall_then_tick(
    behavior: MissedTickBehavior,
    n: usize,
) -> (Instant, Instant, Vec<(Instant, Instant)>) {
    let mut ticks = interval(PERIOD);
    ticks.set_missed_tick_behavior(behavior);
    let t0 = ticks.tick().await;
    std::thread::sleep(STALL);
    let stall_end = Instant::now();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let scheduled = ticks.tick().await;
        out.push((scheduled, Instant::now()));
    }
    (t0, stall_end, out)
}

#[test]
fn burst_delivers_missed_ticks_at_once_then_keeps_the_schedule() {
    let rt = Runtime::new().expect("runtime");
    let (t0, stall_end, got) = rt.block_on(stall_then_tick(MissedTickBehavior::Burst, 5));
    let missed = (stall_end - t0).as_millis() / PERIOD.as_millis();
    for (k, &(scheduled, at)) in got.iter().enumerate() {
        assert_eq!(
            scheduled,
            t0 + PERIOD * (k as u32 + 1),
            "burst keeps the original schedule"
        );
        assert!(at >= scheduled);
        if (k as u128) < missed {
            assert!(
                at - stall_end < SLACK,
                "missed tick {k} must come at once, took {:?}",
                at - stall_end
            );
        }
    }
    // The burst really is immediate: all missed ticks are collected before the next one is due.
    let burst = &got[..missed as usize];
    let last_missed_at = burst.last().map(|&(_, at)| at).unwrap_or(stall_end);
    assert!(
        last_missed_at - stall_end < PERIOD,
        "burst took {:?}",
        last_missed_at - stall_end
    );
}

#[test]
fn delay_restarts_the_schedule_from_the_late_tick() {
    let rt = Runtime::new().expect("runtime");
    let (t0, stall_end, got) = rt.block_on(stall_then_tick(MissedTickBehavior::Delay, 3));
    // The late tick reports its original schedule and comes at once...
    assert_eq!(got[0].0, t0 + PERIOD);
    assert!(got[0].1 - stall_end < SLACK);
    // ...and the next one is a full period after it was collected, off the old phase.
    let (next, next_at) = got[1];
    assert!(
        next >= stall_end + PERIOD,
        "tick 1 still on the old schedule"
    );
    assert!(next <= got[0].1 + PERIOD);
    assert!(next_at >= next);
    assert_ne!(
        (next - t0).as_nanos() % PERIOD.as_nanos(),
        0,
        "delay shifts the phase"
    );
    // Later ticks follow the new schedule (or drift further if this machine is slow).
    let (after, after_at) = got[2];
    assert!(after >= next + PERIOD);
    assert!(after_at >= after);
}

#[test]
fn skip_drops_missed_ticks_and_keeps_the_phase() {
    let rt = Runtime::new().expect("runtime");
    let (t0, stall_end, got) = rt.block_on(stall_then_tick(MissedTickBehavior::Skip, 3));
    assert_eq!(
        got[0].0,
        t0 + PERIOD,
        "the first late tick is still delivered"
    );
    assert!(got[0].1 - stall_end < SLACK);
    for (k, &(scheduled, at)) in got.iter().enumerate().skip(1) {
        let offset = scheduled - t0;
        assert_eq!(
            offset.as_nanos() % PERIOD.as_nanos(),
            0,
            "skip keeps the phase"
        );
        assert!(
            scheduled > stall_end,
            "tick {k} is a missed one that should have been skipped"
        );
        assert!(at >= scheduled);
    }
    // The first tick after the stall is the next one on the original schedule.
    assert!(got[1].0 - stall_end <= PERIOD + (got[0].1 - stall_end));
    assert!(got[2].0 - got[1].0 >= PERIOD);
}

#[test]
fn reset_restarts_the_schedule_from_now() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut ticks = interval(Duration::from_secs(3600));
        ticks.tick().await;
        ticks.reset_immediately();
        let before = Instant::now();
        let scheduled = ticks.tick().await;
        assert!(scheduled >= before - Duration::from_millis(1) && before.elapsed() < SLACK);
        ticks.reset_at(Instant::now() + PERIOD);
        let target = Instant::now() + PERIOD;
        let scheduled = ticks.tick().await;
        assert!(scheduled <= target && Instant::now() >= scheduled);
    });
}
