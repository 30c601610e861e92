//! `sync::Notify`: tokio's permit semantics, waking exactly the right waiters among 10,000,
//! dropped waiters passing their notification on.

mod common;

use common::{run, yield_times};

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::Notify;

const TASKS: usize = 10_000;

fn spawn_waiters(notify: &Rc<Notify>, woken: &Rc<RefCell<Vec<usize>>>, n: usize) {
    for i in 0..n {
        let (notify, woken) = (Rc::clone(notify), Rc::clone(woken));
        spawn(async move {
            notify.notified().await;
            woken.borrow_mut().push(i);
        });
    }
}

#[test]
fn notify_one_without_waiters_stores_a_single_permit() {
    run(async {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one();
        notify.notified().await; // consumes the one permit at once
        let mut cx = Context::from_waker(Waker::noop());
        let mut second = pin!(notify.notified());
        assert!(
            second.as_mut().poll(&mut cx).is_pending(),
            "permits do not add up"
        );
        notify.notify_one();
        assert!(second.as_mut().poll(&mut cx).is_ready());
    });
}

#[test]
fn notify_one_wakes_exactly_one_of_ten_thousand_in_fifo_order() {
    run(async {
        let notify = Rc::new(Notify::new());
        let woken = Rc::new(RefCell::new(Vec::new()));
        spawn_waiters(&notify, &woken, TASKS);
        yield_times(2).await;
        for round in 1..=3 {
            notify.notify_one();
            yield_times(2).await;
            assert_eq!(woken.borrow().len(), round);
        }
        assert_eq!(*woken.borrow(), [0, 1, 2]);
        notify.notify_waiters();
        yield_times(2).await;
        assert_eq!(woken.borrow().len(), TASKS);
        assert!(woken.borrow().iter().copied().eq(0..TASKS));
    });
}

#[test]
fn notify_waiters_wakes_everyone_and_stores_no_permit() {
    run(async {
        let notify = Rc::new(Notify::new());
        let woken = Rc::new(RefCell::new(Vec::new()));
        spawn_waiters(&notify, &woken, TASKS);
        yield_times(2).await;
        notify.notify_waiters();
        yield_times(2).await;
        assert_eq!(woken.borrow().len(), TASKS);
        let mut cx = Context::from_waker(Waker::noop());
        let mut later = pin!(notify.notified());
        assert!(later.as_mut().poll(&mut cx).is_pending());
    });
}

#[test]
fn notify_waiters_reaches_futures_created_but_not_yet_polled() {
    run(async {
        let notify = Notify::new();
        let created = notify.notified();
        notify.notify_waiters();
        created.await;
    });
}

#[test]
fn a_dropped_waiter_picked_by_notify_one_passes_it_on() {
    run(async {
        let notify = Rc::new(Notify::new());
        let woken = Rc::new(Cell::new(0));
        let waiter = |id: u32| {
            let (notify, woken) = (Rc::clone(&notify), Rc::clone(&woken));
            spawn(async move {
                notify.notified().await;
                woken.set(id);
            })
        };
        let first = waiter(1);
        let second = waiter(2);
        yield_times(2).await;
        notify.notify_one(); // picks `first`, which is aborted before it runs
        first.abort();
        assert!(first.await.expect_err("aborted").is_cancelled());
        second.await.expect("the notification was passed on");
        assert_eq!(woken.get(), 2);
    });
}

#[test]
fn a_dropped_waiting_notified_leaves_the_queue() {
    run(async {
        let notify = Rc::new(Notify::new());
        {
            let mut cx = Context::from_waker(Waker::noop());
            let mut waiting = pin!(notify.notified());
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
        }
        // Nobody waits, so this becomes a permit instead of vanishing into the dropped future.
        notify.notify_one();
        notify.notified().await;
    });
}

#[test]
fn notify_last_wakes_the_newest_waiter() {
    run(async {
        let notify = Rc::new(Notify::new());
        let woken = Rc::new(RefCell::new(Vec::new()));
        spawn_waiters(&notify, &woken, 3);
        yield_times(2).await;
        notify.notify_last();
        yield_times(2).await;
        assert_eq!(*woken.borrow(), [2]);
    });
}
