//! `sync::Mutex`: exclusion under 10,000 contending tasks, FIFO hand-off, dropped waiters.

mod common;

use common::{run, yield_times};

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::Mutex;
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;

#[test]
fn ten_thousand_tasks_never_overlap_and_lose_no_update() {
    run(async {
        let counter = Rc::new(Mutex::new(0usize));
        let inside = Rc::new(Cell::new(0usize));
        let max_inside = Rc::new(Cell::new(0usize));
        let order = Rc::new(RefCell::new(Vec::with_capacity(TASKS)));
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let (counter, inside, max_inside, order) = (
                    Rc::clone(&counter),
                    Rc::clone(&inside),
                    Rc::clone(&max_inside),
                    Rc::clone(&order),
                );
                spawn(async move {
                    let mut guard = counter.lock().await;
                    inside.set(inside.get() + 1);
                    max_inside.set(max_inside.get().max(inside.get()));
                    order.borrow_mut().push(i);
                    // Read, yield to every other task, write: a second holder would lose updates.
                    let seen = *guard;
                    yield_now().await;
                    *guard = seen + 1;
                    inside.set(inside.get() - 1);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task completes");
        }
        assert_eq!(*counter.lock().await, TASKS);
        assert_eq!(max_inside.get(), 1);
        // Tasks queue in spawn order, and the lock is served FIFO.
        assert!(order.borrow().iter().copied().eq(0..TASKS));
    });
}

#[test]
fn unlock_hands_the_lock_to_the_first_waiter_before_it_runs() {
    run(async {
        let mutex = Rc::new(Mutex::new(Vec::new()));
        let guard = mutex.lock().await;
        let waiter = {
            let mutex = Rc::clone(&mutex);
            spawn(async move { mutex.lock().await.push("waiter") })
        };
        yield_times(3).await;
        assert!(!waiter.is_finished());
        drop(guard);
        // The lock now belongs to the waiter even though it has not run: no barging.
        assert!(mutex.try_lock().is_err());
        waiter.await.expect("task completes");
        assert_eq!(*mutex.try_lock().expect("free"), ["waiter"]);
    });
}

#[test]
fn aborted_waiters_leave_the_queue_and_pass_on_a_handed_lock() {
    run(async {
        let mutex = Rc::new(Mutex::new(Vec::new()));
        let guard = mutex.lock().await;
        let spawn_waiter = |name: &'static str| {
            let mutex = Rc::clone(&mutex);
            spawn(async move { mutex.lock().await.push(name) })
        };
        let a = spawn_waiter("a");
        let b = spawn_waiter("b");
        let c = spawn_waiter("c");
        yield_times(3).await;

        // b is waiting in the middle of the queue.
        b.abort();
        assert!(b.await.expect_err("aborted").is_cancelled());

        // The lock goes to a, which is aborted before it runs: it must pass the lock to c.
        drop(guard);
        a.abort();
        assert!(a.await.expect_err("aborted").is_cancelled());
        c.await.expect("c gets the lock");

        assert_eq!(*mutex.lock().await, ["c"]);
        assert!(mutex.try_lock().is_ok());
    });
}

#[test]
fn dropped_lock_future_is_removed_from_the_queue() {
    run(async {
        let mutex = Mutex::new(0);
        let guard = mutex.lock().await;
        {
            let mut cx = Context::from_waker(Waker::noop());
            let mut lock = pin!(mutex.lock());
            assert!(lock.as_mut().poll(&mut cx).is_pending());
        }
        drop(guard);
        // Nobody is queued any more, so the lock is free at once.
        *mutex.try_lock().expect("no stale waiter holds the lock") += 1;
        assert_eq!(mutex.into_inner(), 1);
    });
}

#[test]
fn try_lock_fails_while_locked_or_while_others_wait() {
    run(async {
        let mutex = Rc::new(Mutex::new(()));
        let guard = mutex.try_lock().expect("unlocked");
        assert!(mutex.try_lock().is_err());
        let waiter = {
            let mutex = Rc::clone(&mutex);
            spawn(async move {
                let _guard = mutex.lock().await;
                yield_now().await;
            })
        };
        yield_now().await;
        drop(guard);
        assert!(mutex.try_lock().is_err(), "the waiter owns the lock now");
        waiter.await.expect("task completes");
        assert!(mutex.try_lock().is_ok());
    });
}
