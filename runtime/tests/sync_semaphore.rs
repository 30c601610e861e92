//! `sync::Semaphore`: permits are never exceeded under 10,000 tasks, FIFO hand-off, close,
//! owned permits, dropped waiters.

mod common;

use common::{run, yield_times};

use std::cell::Cell;
use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::{Semaphore, TryAcquireError};
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;

/// Tracks how many permits are held right now and the most ever held at once.
#[derive(Default)]
struct Held {
    now: Cell<usize>,
    max: Cell<usize>,
}

impl Held {
    fn add(&self, n: usize) {
        self.now.set(self.now.get() + n);
        self.max.set(self.max.get().max(self.now.get()));
    }

    fn sub(&self, n: usize) {
        self.now.set(self.now.get() - n);
    }
}

#[test]
fn ten_thousand_tasks_never_hold_more_than_the_permits() {
    const PERMITS: usize = 7;
    run(async {
        let sem = Rc::new(Semaphore::new(PERMITS));
        let held = Rc::new(Held::default());
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let (sem, held) = (Rc::clone(&sem), Rc::clone(&held));
                spawn(async move {
                    let _permit = sem.acquire().await.expect("not closed");
                    held.add(1);
                    yield_times(2).await;
                    held.sub(1);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task completes");
        }
        assert_eq!(held.max.get(), PERMITS, "all permits used, never more");
        assert_eq!(sem.available_permits(), PERMITS);
    });
}

#[test]
fn ten_thousand_tasks_acquiring_many_never_exceed_the_permits() {
    const PERMITS: usize = 8;
    run(async {
        let sem = Rc::new(Semaphore::new(PERMITS));
        let held = Rc::new(Held::default());
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let (sem, held) = (Rc::clone(&sem), Rc::clone(&held));
                let n = i % 3 + 1;
                spawn(async move {
                    let permit = Rc::clone(&sem)
                        .acquire_many_owned(n as u32)
                        .await
                        .expect("not closed");
                    assert_eq!(permit.num_permits(), n);
                    held.add(n);
                    yield_now().await;
                    held.sub(n);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task completes");
        }
        assert!(held.max.get() <= PERMITS, "held {}", held.max.get());
        assert!(held.max.get() >= PERMITS - 2, "held {}", held.max.get());
        assert_eq!(sem.available_permits(), PERMITS);
    });
}

#[test]
fn a_large_request_at_the_front_is_not_overtaken() {
    run(async {
        let sem = Rc::new(Semaphore::new(3));
        let held = sem.try_acquire_many(2).expect("3 available");
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let waiter = |name: &'static str, n: u32| {
            let (sem, order) = (Rc::clone(&sem), Rc::clone(&order));
            spawn(async move {
                let _permit = sem.acquire_many(n).await.expect("not closed");
                order.borrow_mut().push(name);
            })
        };
        let big = waiter("big", 2);
        let small = waiter("small", 1);
        yield_times(3).await;
        // One permit is free, but `small` queues behind `big`.
        assert_eq!(sem.available_permits(), 1);
        assert!(!small.is_finished());
        assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::NoPermits));
        drop(held);
        big.await.expect("task completes");
        small.await.expect("task completes");
        assert_eq!(*order.borrow(), ["big", "small"]);
    });
}

#[test]
fn aborting_the_front_waiter_lets_the_ones_behind_it_in() {
    run(async {
        let sem = Rc::new(Semaphore::new(3));
        let _held = sem.try_acquire_many(2).expect("3 available");
        let big = {
            let sem = Rc::clone(&sem);
            spawn(async move { drop(sem.acquire_many(2).await) })
        };
        let small = {
            let sem = Rc::clone(&sem);
            spawn(async move { sem.acquire().await.expect("not closed").forget() })
        };
        yield_times(3).await;
        assert!(!small.is_finished());
        big.abort();
        assert!(big.await.expect_err("aborted").is_cancelled());
        small
            .await
            .expect("the free permit goes to the next waiter");
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn permits_handed_to_an_aborted_waiter_go_to_the_next_one() {
    run(async {
        let sem = Rc::new(Semaphore::new(1));
        let held = sem.try_acquire().expect("1 available");
        let got = Rc::new(Cell::new(0));
        let waiter = |id: u32| {
            let (sem, got) = (Rc::clone(&sem), Rc::clone(&got));
            spawn(async move {
                let _permit = sem.acquire().await.expect("not closed");
                got.set(id);
            })
        };
        let first = waiter(1);
        let second = waiter(2);
        yield_times(3).await;
        drop(held); // handed to `first`, which has not run yet
        first.abort();
        assert!(first.await.expect_err("aborted").is_cancelled());
        second.await.expect("the handed permit was passed on");
        assert_eq!(got.get(), 2);
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn add_permits_wakes_exactly_that_many_waiters() {
    run(async {
        let sem = Rc::new(Semaphore::new(0));
        let done = Rc::new(Cell::new(0));
        let handles: Vec<_> = (0..5)
            .map(|_| {
                let (sem, done) = (Rc::clone(&sem), Rc::clone(&done));
                spawn(async move {
                    sem.acquire().await.expect("not closed").forget();
                    done.set(done.get() + 1);
                })
            })
            .collect();
        yield_times(3).await;
        assert_eq!(done.get(), 0);
        sem.add_permits(3);
        yield_times(3).await;
        assert_eq!(done.get(), 3);
        assert_eq!(sem.available_permits(), 0);
        sem.add_permits(2);
        for handle in handles {
            handle.await.expect("task completes");
        }
        assert_eq!(done.get(), 5);
    });
}

#[test]
fn close_fails_waiters_and_later_acquires_but_keeps_held_permits() {
    run(async {
        let sem = Rc::new(Semaphore::new(1));
        let held = Rc::clone(&sem).try_acquire_owned().expect("1 available");
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let sem = Rc::clone(&sem);
                spawn(async move { sem.acquire().await.is_err() })
            })
            .collect();
        yield_times(3).await;
        sem.close();
        for waiter in waiters {
            assert!(
                waiter.await.expect("task completes"),
                "waiter saw the close"
            );
        }
        assert!(sem.is_closed());
        assert!(sem.acquire().await.is_err());
        assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
        assert_eq!(held.num_permits(), 1);
        drop(held);
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn owned_permits_keep_the_semaphore_and_merge_split_forget() {
    run(async {
        let sem = Rc::new(Semaphore::new(4));
        let mut permit = Rc::clone(&sem)
            .acquire_many_owned(3)
            .await
            .expect("not closed");
        let task = spawn(async move {
            let part = permit.split(1).expect("3 held");
            assert!(permit.split(5).is_none());
            part.forget();
            permit.num_permits()
        });
        assert_eq!(task.await.expect("task completes"), 2);
        // 2 came back, 1 was forgotten.
        assert_eq!(sem.available_permits(), 3);
        let mut a = sem.try_acquire().expect("available");
        a.merge(sem.try_acquire().expect("available"));
        assert_eq!(a.num_permits(), 2);
        assert_eq!(sem.available_permits(), 1);
        drop(a);
        assert_eq!(sem.forget_permits(10), 3);
        assert_eq!(sem.available_permits(), 0);
    });
}
