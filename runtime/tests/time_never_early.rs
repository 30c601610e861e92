//! 100,000 timers with random deadlines: none fires early, and they complete in deadline order.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ringbolt_runtime::time::{sleep, sleep_until, timers_pending};
use ringbolt_runtime::{spawn, Runtime};

const TIMERS: usize = 100_000;
/// Deadlines are spread uniformly over this window.
const SPREAD_US: u64 = 2_000_000;
/// Deadlines start this long after setup begins, so that (nearly) every timer is registered in
/// the wheel before it is due. A timer that is not is still checked for earliness, just not
/// for order, since it completed on its first poll rather than through the wheel.
const MARGIN: Duration = Duration::from_millis(500);
/// A helper task blocks the core for `STALL` every `STALL_EVERY_MS`.
const STALL_EVERY_MS: u64 = 50;
const STALL: Duration = Duration::from_millis(5);

/// One timer's outcome.
struct Record {
    deadline: Instant,
    fired_at: Instant,
    via_wheel: bool,
}

/// xorshift64*: deterministic, no dependencies.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Aborts the process if the test hangs: every loop in here is bounded, but the runtime's may not be.
fn watchdog(limit: Duration) -> mpsc::Sender<()> {
    let (done, wait) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if wait.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("time_never_early: no result after {limit:?}");
            std::process::exit(2);
        }
    });
    done
}

#[test]
fn timers_never_fire_early_and_fire_in_deadline_order() {
    let done = watchdog(Duration::from_secs(120));
    let rt = Runtime::new().expect("runtime");
    let records = rt.block_on(async {
        let records: Rc<RefCell<Vec<Record>>> = Rc::new(RefCell::new(Vec::with_capacity(TIMERS)));
        let start = Instant::now() + MARGIN;
        let mut rng = 0x853c_49e6_748f_ea9b_u64;
        let mut handles = Vec::with_capacity(TIMERS);
        for _ in 0..TIMERS {
            let deadline = start + Duration::from_micros(next(&mut rng) % SPREAD_US);
            let records = records.clone();
            handles.push(spawn(async move {
                let mut sleep = pin!(sleep_until(deadline));
                let mut first_poll = None;
                poll_fn(|cx| {
                    let poll = sleep.as_mut().poll(cx);
                    first_poll.get_or_insert(poll.is_pending());
                    poll
                })
                .await;
                let fired_at = Instant::now();
                records.borrow_mut().push(Record {
                    deadline,
                    fired_at,
                    via_wheel: first_poll == Some(true),
                });
            }));
        }
        // Block the core now and then, so that several ticks fall due at once and `process`
        // fires multi-tick batches: their order must hold too.
        let staller = spawn(async {
            for _ in 0..(SPREAD_US / 1_000 + MARGIN.as_millis() as u64) / STALL_EVERY_MS {
                sleep(Duration::from_millis(STALL_EVERY_MS)).await;
                std::thread::sleep(STALL);
            }
        });
        for handle in handles {
            handle.await.expect("timer task");
        }
        staller.await.expect("staller task");
        assert_eq!(timers_pending(), 0, "fired timers must leave the wheel");
        let records = std::mem::take(&mut *records.borrow_mut());
        records
    });
    let _ = done.send(());
    assert_eq!(records.len(), TIMERS);

    let mut max_late = Duration::ZERO;
    for r in &records {
        assert!(
            r.fired_at >= r.deadline,
            "a timer fired {:?} early",
            r.deadline - r.fired_at
        );
        max_late = max_late.max(r.fired_at - r.deadline);
    }

    // Order: the wheel fires whole ticks in nondecreasing tick order and the executor polls woken
    // tasks first in, first out, so a timer can complete before one with an earlier deadline only
    // when both deadlines round up to the same 1 ms tick (they then fire in insertion order).
    // Hence, in completion order, every deadline is at most 1 ms before the latest deadline
    // completed so far. No further scheduling slack is needed: a late or stalled core delays
    // whole batches (see the staller above), it does not reorder them.
    let wheel: Vec<&Record> = records.iter().filter(|r| r.via_wheel).collect();
    assert!(
        wheel.len() * 10 >= TIMERS * 9,
        "only {} of {TIMERS} timers were registered before their deadline: setup too slow",
        wheel.len()
    );
    let resolution = Duration::from_millis(1);
    let mut latest = wheel[0].deadline;
    for (i, r) in wheel.iter().enumerate() {
        assert!(
            r.deadline + resolution >= latest,
            "timer #{i} in completion order has a deadline {:?} before one completed earlier",
            latest - r.deadline
        );
        latest = latest.max(r.deadline);
    }

    let mut lateness: Vec<Duration> = records.iter().map(|r| r.fired_at - r.deadline).collect();
    lateness.sort_unstable();
    eprintln!(
        "{} via wheel; lateness p50 {:?}, p99 {:?}, max {:?}",
        wheel.len(),
        lateness[lateness.len() / 2],
        lateness[lateness.len() * 99 / 100],
        max_late
    );
}
