//! Aborting thousands of tasks that wait on a mutex, a semaphore or a full channel, including
//! tasks that were already handed the resource but had not run yet, leaves the primitive
//! usable: every surviving waiter is served in order and nothing is lost.

mod common;

use common::{run, yield_times};

use std::cell::RefCell;
use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::{mpsc, Mutex, Semaphore};
use ringbolt_runtime::task::{yield_now, JoinHandle};

const TASKS: usize = 10_000;

/// Aborts every even-numbered task and checks that each of them reports cancellation.
async fn abort_even<T>(handles: Vec<JoinHandle<T>>) -> Vec<JoinHandle<T>> {
    let mut survivors = Vec::new();
    let mut aborted = Vec::new();
    for (i, handle) in handles.into_iter().enumerate() {
        if i % 2 == 0 {
            handle.abort();
            aborted.push(handle);
        } else {
            survivors.push(handle);
        }
    }
    for handle in aborted {
        match handle.await {
            Err(err) => assert!(err.is_cancelled()),
            Ok(_) => panic!("an aborted waiter completed"),
        }
    }
    survivors
}

#[test]
fn mutex_survives_aborted_waiters() {
    run(async {
        let mutex = Rc::new(Mutex::new(Vec::new()));
        let guard = mutex.lock().await;
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let mutex = Rc::clone(&mutex);
                spawn(async move {
                    let mut guard = mutex.lock().await;
                    yield_now().await;
                    guard.push(i);
                })
            })
            .collect();
        yield_times(2).await;
        // The lock is handed to task 0, which is aborted before it runs.
        drop(guard);
        for handle in abort_even(handles).await {
            handle.await.expect("surviving waiter completes");
        }
        let served = mutex.try_lock().expect("the mutex is free again");
        assert!(
            served.iter().copied().eq((1..TASKS).step_by(2)),
            "FIFO among survivors"
        );
    });
}

#[test]
fn semaphore_survives_aborted_waiters_holding_handed_permits() {
    const GRANTED: usize = TASKS / 2;
    run(async {
        let sem = Rc::new(Semaphore::new(0));
        let order = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let (sem, order) = (Rc::clone(&sem), Rc::clone(&order));
                spawn(async move {
                    let _permit = sem.acquire().await.expect("not closed");
                    order.borrow_mut().push(i);
                    yield_now().await;
                })
            })
            .collect();
        yield_times(2).await;
        // Hands permits to the first half of the queue, none of which has run yet.
        sem.add_permits(GRANTED);
        assert_eq!(sem.available_permits(), 0);
        for handle in abort_even(handles).await {
            handle.await.expect("surviving waiter completes");
        }
        assert_eq!(sem.available_permits(), GRANTED, "no permit was lost");
        assert!(order.borrow().iter().copied().eq((1..TASKS).step_by(2)));
        let all = sem
            .try_acquire_many(GRANTED as u32)
            .expect("all permits free");
        drop(all);
    });
}

#[test]
fn bounded_channel_survives_aborted_senders_holding_handed_slots() {
    const CAPACITY: usize = 16;
    run(async {
        let (tx, mut rx) = mpsc::channel(CAPACITY);
        for _ in 0..CAPACITY {
            tx.try_send(usize::MAX).expect("room");
        }
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let tx = tx.clone();
                spawn(async move { tx.send(i).await.expect("receiver alive") })
            })
            .collect();
        yield_times(2).await;
        // Frees every slot, handing them to the first senders in the queue, which have not run.
        for _ in 0..CAPACITY {
            assert_eq!(rx.recv().await, Some(usize::MAX));
        }
        let survivors = abort_even(handles).await;
        let mut received = Vec::new();
        while received.len() < TASKS / 2 {
            received.push(rx.recv().await.expect("senders alive"));
        }
        for handle in survivors {
            handle.await.expect("surviving sender completes");
        }
        assert!(
            received.iter().copied().eq((1..TASKS).step_by(2)),
            "FIFO among survivors"
        );
        assert!(rx.try_recv().is_err(), "nothing from aborted senders");
        assert_eq!(tx.capacity(), CAPACITY, "no slot was lost");
    });
}
