//! A `JoinHandle`'s waker lives in its thread's join table, not in the task: it is woken once
//! when the task ends (completion, abort, panic, shutdown), replaced when the handle is polled
//! with another waker, and dropped with the handle. Every test counts the waker's references,
//! so a waker left behind in the table (a leak) or dropped too early fails it.
use ringbolt_runtime::{spawn, task::yield_now, Runtime};
use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count::default());
    (c.clone(), Waker::from(c))
}

fn poll_once<F: Future + Unpin>(f: &mut F, w: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(w))
}

#[test]
fn completion_wakes_the_waiting_handle_once() {
    Runtime::new().unwrap().block_on(async {
        let (c, w) = counting();
        let mut h = spawn(async { 7 });
        assert!(poll_once(&mut h, &w).is_pending());
        // The table holds a clone.
        assert_eq!(Arc::strong_count(&c), 3);
        yield_now().await;
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        // Woken by value: the table's clone is gone.
        assert_eq!(Arc::strong_count(&c), 2);
        assert_eq!(poll_once(&mut h, &w).map(Result::ok), Poll::Ready(Some(7)));
    });
}

#[test]
fn dropping_a_waiting_handle_drops_its_waker() {
    Runtime::new().unwrap().block_on(async {
        let (c, w) = counting();
        let mut h = spawn(async { yield_now().await });
        assert!(poll_once(&mut h, &w).is_pending());
        assert_eq!(Arc::strong_count(&c), 3);
        drop(h);
        assert_eq!(Arc::strong_count(&c), 2);
        // The detached task ends without waking anyone.
        yield_now().await;
        yield_now().await;
        assert_eq!(c.0.load(Ordering::SeqCst), 0);
        assert_eq!(Arc::strong_count(&c), 2);
    });
}

#[test]
fn a_new_waker_replaces_the_old_one() {
    Runtime::new().unwrap().block_on(async {
        let (c1, w1) = counting();
        let (c2, w2) = counting();
        let mut h = spawn(async { yield_now().await });
        assert!(poll_once(&mut h, &w1).is_pending());
        // The same waker again: kept, not cloned again.
        assert!(poll_once(&mut h, &w1).is_pending());
        assert_eq!(Arc::strong_count(&c1), 3);
        assert!(poll_once(&mut h, &w2).is_pending());
        assert_eq!(Arc::strong_count(&c1), 2);
        assert_eq!(Arc::strong_count(&c2), 3);
        yield_now().await;
        yield_now().await;
        assert_eq!(c1.0.load(Ordering::SeqCst), 0);
        assert_eq!(c2.0.load(Ordering::SeqCst), 1);
        assert!(poll_once(&mut h, &w2).is_ready());
        assert_eq!(Arc::strong_count(&c2), 2);
    });
}

#[test]
fn abort_and_panic_wake_the_handle() {
    Runtime::new().unwrap().block_on(async {
        let (c, w) = counting();
        let mut aborted = spawn(pending::<()>());
        let mut panicked = spawn(async {
            yield_now().await;
            panic!("on purpose");
        });
        assert!(poll_once(&mut aborted, &w).is_pending());
        assert!(poll_once(&mut panicked, &w).is_pending());
        assert_eq!(Arc::strong_count(&c), 4);
        aborted.abort();
        yield_now().await;
        yield_now().await;
        assert_eq!(c.0.load(Ordering::SeqCst), 2);
        assert_eq!(Arc::strong_count(&c), 2);
        match poll_once(&mut aborted, &w) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("the aborted task's handle must be ready with a cancellation"),
        }
        match poll_once(&mut panicked, &w) {
            Poll::Ready(Err(e)) => assert_eq!(e.panic_message(), Some("on purpose")),
            _ => panic!("the panicked task's handle must be ready with the panic"),
        }
    });
}

#[test]
fn runtime_shutdown_wakes_the_handle_and_frees_the_waker() {
    let rt = Runtime::new().unwrap();
    let (c, w) = counting();
    // Returned in a tuple: the handle is kept to poll after the runtime is gone.
    let (mut h,) = rt.block_on(async {
        let mut h = spawn(pending::<u32>());
        assert!(poll_once(&mut h, &w).is_pending());
        (h,)
    });
    assert_eq!(Arc::strong_count(&c), 3);
    drop(rt);
    assert_eq!(c.0.load(Ordering::SeqCst), 1);
    assert_eq!(Arc::strong_count(&c), 2);
    match poll_once(&mut h, &w) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        _ => panic!("a task cut off by shutdown must report a cancellation"),
    }
}

#[test]
fn many_waiting_handles_on_one_thread() {
    Runtime::new().unwrap().block_on(async {
        let (c, w) = counting();
        let mut hs: Vec<_> = (0..1000u32)
            .map(|i| {
                spawn(async move {
                    yield_now().await;
                    i
                })
            })
            .collect();
        for h in &mut hs {
            assert!(poll_once(h, &w).is_pending());
        }
        // Every other handle is dropped while waiting: its table slot is reused.
        let mut kept: Vec<_> = hs.into_iter().step_by(2).collect();
        let more: Vec<_> = (0..500u32).map(|i| spawn(async move { i })).collect();
        for h in more {
            assert!(h.await.is_ok());
        }
        // Re-polling a waiting handle with the same waker keeps its slot: each kept task
        // wakes `w` exactly once, whenever it ends.
        let mut done = vec![false; kept.len()];
        while done.iter().any(|d| !d) {
            for (i, h) in kept.iter_mut().enumerate() {
                if done[i] {
                    continue;
                }
                if let Poll::Ready(r) = poll_once(h, &w) {
                    assert_eq!(r.ok(), Some(2 * i as u32));
                    done[i] = true;
                }
            }
            yield_now().await;
        }
        assert_eq!(c.0.load(Ordering::SeqCst), 500);
        assert_eq!(Arc::strong_count(&c), 2);
    });
}
