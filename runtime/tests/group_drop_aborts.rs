//! Dropping a `JoinSet` with 1,000 running children aborts all of them (their drop guards
//! run), including children waiting on a mutex or a semaphore, which stay usable.

use ringbolt_runtime::sync::{Mutex, Semaphore};
use ringbolt_runtime::task::{yield_now, JoinSet};
use ringbolt_runtime::time::{sleep, timeout};
use ringbolt_runtime::Runtime;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

struct CountOnDrop(Rc<Cell<u32>>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn dropping_the_set_aborts_every_child() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        let dropped = Rc::new(Cell::new(0));
        let sem = Rc::new(Semaphore::new(1));
        let mutex = Rc::new(Mutex::new(0u32));
        let held_permit = sem.clone().acquire_owned().await.expect("permit");
        let held_lock = mutex.lock().await;
        let mut set = JoinSet::new();
        for i in 0..1000 {
            let guard = CountOnDrop(dropped.clone());
            let (sem, mutex) = (sem.clone(), mutex.clone());
            set.spawn(async move {
                let _guard = guard;
                match i % 3 {
                    0 => drop(sem.acquire().await),
                    1 => *mutex.lock().await += 1,
                    _ => sleep(Duration::from_secs(3600)).await,
                }
            });
        }
        // Let every child start and block (the executor runs a bounded batch per turn).
        for _ in 0..20 {
            yield_now().await;
        }
        assert_eq!(dropped.get(), 0, "children are all waiting");
        assert_eq!(ringbolt_runtime::stats().tasks_alive, 1000);
        drop(set);
        for _ in 0..20 {
            if dropped.get() == 1000 {
                break;
            }
            yield_now().await;
        }
        assert_eq!(dropped.get(), 1000, "every child's drop guard ran");
        assert_eq!(ringbolt_runtime::stats().tasks_alive, 0);

        // The primitives the aborted children waited on still work.
        drop(held_permit);
        drop(held_lock);
        let p = timeout(Duration::from_secs(1), sem.acquire())
            .await
            .expect("semaphore usable")
            .expect("open");
        drop(p);
        let mut g = timeout(Duration::from_secs(1), mutex.lock())
            .await
            .expect("mutex usable");
        *g += 1;
        assert_eq!(*g, 1, "no aborted child got the lock");
    });
}
