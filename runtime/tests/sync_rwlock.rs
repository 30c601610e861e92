//! `sync::RwLock`: readers share, writers exclude, under 10,000 tasks; a waiting writer blocks
//! later readers; aborted waiters.

mod common;

use common::{run, yield_times};

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ringbolt_runtime::spawn;
use ringbolt_runtime::sync::{RwLock, RwLockWriteGuard};
use ringbolt_runtime::task::yield_now;

const TASKS: usize = 10_000;

#[derive(Default)]
struct Inside {
    readers: Cell<usize>,
    max_readers: Cell<usize>,
    writers: Cell<usize>,
}

#[test]
fn ten_thousand_tasks_readers_share_and_writers_exclude() {
    run(async {
        let lock = Rc::new(RwLock::new(0usize));
        let inside = Rc::new(Inside::default());
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let (lock, inside) = (Rc::clone(&lock), Rc::clone(&inside));
                spawn(async move {
                    if i % 10 == 0 {
                        let mut guard = lock.write().await;
                        assert_eq!(inside.readers.get(), 0);
                        assert_eq!(inside.writers.get(), 0);
                        inside.writers.set(1);
                        let seen = *guard;
                        yield_now().await;
                        *guard = seen + 1;
                        inside.writers.set(0);
                    } else {
                        let guard = lock.read().await;
                        assert_eq!(inside.writers.get(), 0);
                        inside.readers.set(inside.readers.get() + 1);
                        let max = inside.max_readers.get().max(inside.readers.get());
                        inside.max_readers.set(max);
                        let seen = *guard;
                        yield_now().await;
                        assert_eq!(*guard, seen, "a writer got in while reading");
                        inside.readers.set(inside.readers.get() - 1);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task completes");
        }
        assert_eq!(*lock.read().await, TASKS / 10);
        assert_eq!(
            inside.max_readers.get(),
            9,
            "the readers between two writers share"
        );
    });
}

#[test]
fn a_waiting_writer_blocks_readers_that_come_after_it() {
    run(async {
        let lock = Rc::new(RwLock::new(Vec::new()));
        let order = Rc::new(RefCell::new(Vec::new()));
        let first_read = lock.read().await;
        let writer = {
            let (lock, order) = (Rc::clone(&lock), Rc::clone(&order));
            spawn(async move {
                lock.write().await.push("writer");
                order.borrow_mut().push("writer");
            })
        };
        yield_times(2).await;
        let reader = {
            let (lock, order) = (Rc::clone(&lock), Rc::clone(&order));
            spawn(async move {
                assert_eq!(*lock.read().await, ["writer"]);
                order.borrow_mut().push("reader");
            })
        };
        yield_times(3).await;
        assert!(!writer.is_finished() && !reader.is_finished());
        assert!(lock.try_read().is_err(), "a writer is queued");
        drop(first_read);
        writer.await.expect("task completes");
        reader.await.expect("task completes");
        assert_eq!(*order.borrow(), ["writer", "reader"]);
    });
}

#[test]
fn aborting_a_waiting_writer_lets_the_readers_behind_it_in() {
    run(async {
        let lock = Rc::new(RwLock::new(()));
        let first_read = lock.read().await;
        let writer = {
            let lock = Rc::clone(&lock);
            spawn(async move { drop(lock.write().await) })
        };
        yield_times(2).await;
        let reader = {
            let lock = Rc::clone(&lock);
            spawn(async move { drop(lock.read().await) })
        };
        yield_times(3).await;
        assert!(!reader.is_finished());
        writer.abort();
        assert!(writer.await.expect_err("aborted").is_cancelled());
        reader
            .await
            .expect("the reader gets in beside the first one");
        drop(first_read);
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn downgrade_lets_queued_readers_in_but_not_a_writer() {
    run(async {
        let lock = Rc::new(RwLock::with_max_readers(0, 4));
        let mut write = lock.write().await;
        *write = 7;
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let lock = Rc::clone(&lock);
                spawn(async move { *lock.read().await })
            })
            .collect();
        yield_times(2).await;
        let read = RwLockWriteGuard::downgrade(write);
        for reader in readers {
            assert_eq!(reader.await.expect("task completes"), 7);
        }
        assert!(lock.try_write().is_err());
        assert_eq!(*read, 7);
        drop(read);
        *lock.try_write().expect("free") += 1;
        assert_eq!(*lock.read().await, 8);
    });
}

#[test]
fn max_readers_bounds_concurrent_readers() {
    run(async {
        let lock = RwLock::with_max_readers((), 2);
        let a = lock.try_read().expect("room");
        let _b = lock.try_read().expect("room");
        assert!(lock.try_read().is_err());
        drop(a);
        assert!(lock.try_read().is_ok());
    });
}
