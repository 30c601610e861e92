//! A task set that never stops being ready cannot starve I/O or timers: the loop reaps
//! completions and fires timers after a bounded number of polls.
mod common;

use ringbolt_runtime::ops::Nop;
use ringbolt_runtime::{spawn, stats, task::yield_now, Runtime};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[test]
fn busy_tasks_do_not_starve_io_and_timers() {
    let _w = common::watchdog(
        "busy_tasks_do_not_starve_io_and_timers",
        Duration::from_secs(20),
    );
    let rt = Runtime::builder().event_interval(64).build().unwrap();
    rt.block_on(async {
        let stop = Rc::new(Cell::new(false));
        let spins = Rc::new(Cell::new(0u64));
        for _ in 0..8 {
            let (stop, spins) = (stop.clone(), spins.clone());
            spawn(async move {
                while !stop.get() {
                    spins.set(spins.get() + 1);
                    yield_now().await;
                }
            });
        }
        let t = Instant::now();
        ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
        let slept = t.elapsed();
        let enters_before = stats().enters;
        for _ in 0..100 {
            Nop::op().await.unwrap();
        }
        stop.set(true);
        assert!(
            slept < Duration::from_millis(500),
            "timer starved: {slept:?}"
        );
        assert!(stats().enters > enters_before, "I/O went through the ring");
        assert!(
            spins.get() > 1000,
            "busy tasks ran meanwhile ({} spins)",
            spins.get()
        );
    });
}
