//! `join!`, `try_join!`, `join_all`, `try_join_all`: concurrent in one task, outputs in order,
//! the first error wins and drops the rest, and a gather polls only woken children.

use ringbolt_runtime::task::{join_all, try_join_all, yield_now};
use ringbolt_runtime::time::{sleep, timeout};
use ringbolt_runtime::{join, try_join, Runtime};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

fn run<F: Future>(f: F) -> F::Output {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        timeout(Duration::from_secs(30), f)
            .await
            .expect("test deadlocked")
    })
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn join_runs_concurrently_and_keeps_order() {
    run(async {
        let local = Rc::new(Cell::new(0)); // !Send state shared by the branches
        let start = Instant::now();
        let (a, b, c) = join!(
            async {
                sleep(Duration::from_millis(60)).await;
                local.set(local.get() + 1);
                "a"
            },
            async {
                sleep(Duration::from_millis(60)).await;
                local.set(local.get() + 1);
                2
            },
            async { 3.5 },
        );
        assert_eq!((a, b, c), ("a", 2, 3.5));
        assert_eq!(local.get(), 2);
        assert!(
            start.elapsed() < Duration::from_millis(110),
            "join! ran its futures one after the other: {:?}",
            start.elapsed()
        );
        let () = join!();
        let (only,) = join!(async { 1 });
        assert_eq!(only, 1);
    });
}

#[test]
fn try_join_first_error_drops_the_rest() {
    run(async {
        let dropped = Rc::new(Cell::new(false));
        let guard = DropFlag(dropped.clone());
        let r: Result<(u32, u32), &str> = try_join!(
            async move {
                let _g = guard;
                sleep(Duration::from_secs(60)).await;
                Ok(1)
            },
            async {
                sleep(Duration::from_millis(5)).await;
                Err("boom")
            },
        );
        assert_eq!(r, Err("boom"));
        assert!(dropped.get(), "the pending future was dropped");
        let ok: Result<(u32, &str), ()> = try_join!(async { Ok(1) }, async { Ok("x") });
        assert_eq!(ok, Ok((1, "x")));
    });
}

/// A future that becomes ready after `n` polls, waking itself each time, and counts polls.
struct CountdownPolls {
    left: u32,
    polls: Rc<Cell<u32>>,
}

impl Future for CountdownPolls {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn join_all_polls_only_woken_children() {
    run(async {
        let polls = Rc::new(Cell::new(0));
        // 999 children wait on a long sleep that never needs polling again; one child wakes
        // itself 100 times.
        let sleepers = Rc::new(ringbolt_runtime::sync::Notify::new());
        let mut futs: Vec<Pin<Box<dyn Future<Output = ()>>>> = Vec::new();
        for _ in 0..999 {
            let polls = polls.clone();
            let n = sleepers.clone();
            futs.push(Box::pin(async move {
                polls.set(polls.get() + 1);
                n.notified().await;
            }));
        }
        futs.push(Box::pin(CountdownPolls {
            left: 100,
            polls: polls.clone(),
        }));
        let waker_task = {
            let n = sleepers.clone();
            ringbolt_runtime::spawn(async move {
                for _ in 0..3 {
                    yield_now().await;
                }
                sleep(Duration::from_millis(20)).await;
                n.notify_waiters();
            })
        };
        let out = join_all(futs).await;
        assert_eq!(out.len(), 1000);
        waker_task.await.expect("waker task");
        // 999 first polls + 999 final polls + 101 polls of the countdown; polling every child
        // at each wake would be ~100,000.
        assert!(
            polls.get() <= 999 * 2 + 101 + 10,
            "join_all polled {} times",
            polls.get()
        );
    });
}

#[test]
fn join_all_order_and_try_join_all_error() {
    run(async {
        let out = join_all((0..50u64).map(|i| async move {
            sleep(Duration::from_millis(50 - i)).await;
            i
        }))
        .await;
        assert_eq!(out, (0..50).collect::<Vec<_>>());
        assert!(join_all(Vec::<std::future::Ready<u8>>::new())
            .await
            .is_empty());

        let dropped = Rc::new(Cell::new(0));
        let r = try_join_all((0..10u32).map(|i| {
            let d = DropFlag(Rc::new(Cell::new(false)));
            let dropped = dropped.clone();
            async move {
                let _d = d;
                let _count = CountOnDrop(dropped);
                if i == 3 {
                    sleep(Duration::from_millis(5)).await;
                    return Err(i);
                }
                sleep(Duration::from_secs(60)).await;
                Ok(i)
            }
        }))
        .await;
        assert_eq!(r, Err(3));
        assert_eq!(dropped.get(), 10, "every child dropped once the error came");
    });
}

struct CountOnDrop(Rc<Cell<u32>>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn timeout_composes_with_gather() {
    run(async {
        let r = timeout(
            Duration::from_millis(20),
            join_all((0..3).map(|_| sleep(Duration::from_secs(60)))),
        )
        .await;
        assert!(r.is_err(), "the gather timed out");
        let r = timeout(Duration::from_secs(5), async {
            join!(sleep(Duration::from_millis(1)), async { 7 }).1
        })
        .await;
        assert_eq!(r.ok(), Some(7));
    });
}
