//! Future combinators: `join_all` (asyncio's `gather`), `try_join_all`, `select` and `Either`.
//!
//! Rules:
//! 1. Nothing is spawned: the futures run inside the task that awaits the combinator, so they
//!    may be `!Send` and may borrow.
//! 2. `join_all` and `try_join_all` poll only the futures that were woken since the last poll
//!    (each child gets its own waker), so a gather of n futures costs O(1) per wake, not O(n).
//! 3. Outputs come back in the order the futures were given.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// One of two values; the output of [`select`] and of each `select!` branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either<L, R> {
    /// The first alternative.
    Left(L),
    /// The second alternative.
    Right(R),
}

impl<L, R> Either<L, R> {
    /// Whether this is `Left`.
    pub fn is_left(&self) -> bool {
        matches!(self, Either::Left(_))
    }

    /// Whether this is `Right`.
    pub fn is_right(&self) -> bool {
        matches!(self, Either::Right(_))
    }
}

/// Waits for the first of two futures and drops the other (which cancels its I/O). The first
/// future is polled first, so it wins a tie.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::task::{select, Either};
/// use ringbolt_runtime::time::sleep;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let won = rt.block_on(select(
///     async { sleep(Duration::from_secs(10)).await; "slow" },
///     async { "fast" },
/// ));
/// assert_eq!(won, Either::Right("fast"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        b.as_mut().poll(cx).map(Either::Right)
    })
    .await
}

/// Which children were woken since the parent last looked, and the parent's waker.
struct Woken {
    inner: Mutex<WokenInner>,
}

struct WokenInner {
    indices: Vec<usize>,
    parent: Option<Waker>,
}

impl Woken {
    fn lock(&self) -> MutexGuard<'_, WokenInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A child's waker: queues its index (once until polled) and wakes the parent.
struct ChildWaker {
    index: usize,
    queued: AtomicBool,
    woken: Arc<Woken>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = {
            let mut w = self.woken.lock();
            w.indices.push(self.index);
            w.parent.clone()
        };
        if let Some(p) = parent {
            p.wake();
        }
    }
}

/// Polls a set of futures, each only when it was woken (rule 2).
struct Gather<F: Future> {
    futures: Vec<Option<Pin<Box<F>>>>,
    wakers: Vec<(Arc<ChildWaker>, Waker)>,
    woken: Arc<Woken>,
    batch: Vec<usize>,
    remaining: usize,
}

impl<F: Future> Gather<F> {
    fn new<I: IntoIterator<Item = F>>(iter: I) -> Gather<F> {
        let futures: Vec<_> = iter.into_iter().map(|f| Some(Box::pin(f))).collect();
        let n = futures.len();
        let woken = Arc::new(Woken {
            inner: Mutex::new(WokenInner {
                indices: (0..n).collect(),
                parent: None,
            }),
        });
        let wakers = (0..n)
            .map(|index| {
                let child = Arc::new(ChildWaker {
                    index,
                    queued: AtomicBool::new(true),
                    woken: woken.clone(),
                });
                let waker = Waker::from(child.clone());
                (child, waker)
            })
            .collect();
        Gather {
            futures,
            wakers,
            woken,
            batch: Vec::new(),
            remaining: n,
        }
    }

    /// Polls the woken children, handing each output to `done`; stops early if `done` says so.
    fn poll_woken(&mut self, cx: &mut Context<'_>, mut done: impl FnMut(usize, F::Output) -> bool) {
        {
            let mut w = self.woken.lock();
            match &mut w.parent {
                Some(p) => p.clone_from(cx.waker()),
                slot => *slot = Some(cx.waker().clone()),
            }
            std::mem::swap(&mut w.indices, &mut self.batch);
        }
        let mut batch = std::mem::take(&mut self.batch);
        for &i in &batch {
            let (child, waker) = &self.wakers[i];
            child.queued.store(false, Ordering::Release);
            let Some(fut) = self.futures[i].as_mut() else {
                continue;
            };
            if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(waker)) {
                self.futures[i] = None;
                self.remaining -= 1;
                if done(i, out) {
                    break;
                }
            }
        }
        batch.clear();
        self.batch = batch;
    }
}

/// Waits for every future and returns their outputs in the order given (asyncio's `gather`).
///
/// Concurrency is not limited; combine with a [`Semaphore`](crate::sync::Semaphore) for that.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::task::join_all;
/// use ringbolt_runtime::time::sleep;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let out = rt.block_on(join_all((0..5u64).map(|i| async move {
///     sleep(Duration::from_millis(5 - i)).await; // finish in reverse order
///     i * 10
/// })));
/// assert_eq!(out, [0, 10, 20, 30, 40]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn join_all<I>(futures: I) -> Vec<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut gather = Gather::new(futures);
    let mut outputs: Vec<Option<<I::Item as Future>::Output>> =
        (0..gather.futures.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        gather.poll_woken(cx, |i, out| {
            outputs[i] = Some(out);
            false
        });
        if gather.remaining == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Waits for every future returning `Result` and returns their `Ok` values in the order given,
/// or the first `Err` as soon as it happens (the other futures are dropped).
///
/// # Errors
///
/// The first error any future returns.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::task::try_join_all;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let ok = try_join_all((1..=3).map(|i| async move { Ok::<_, String>(i) })).await;
///     assert_eq!(ok, Ok(vec![1, 2, 3]));
///     let err = try_join_all((1..=3).map(|i| async move {
///         if i == 2 { Err(format!("{i} failed")) } else { Ok(i) }
///     }))
///     .await;
///     assert_eq!(err, Err("2 failed".to_owned()));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn try_join_all<I, T, E>(futures: I) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    let mut gather = Gather::new(futures);
    let mut outputs: Vec<Option<T>> = (0..gather.futures.len()).map(|_| None).collect();
    let mut error = None;
    std::future::poll_fn(|cx| {
        gather.poll_woken(cx, |i, out| match out {
            Ok(v) => {
                outputs[i] = Some(v);
                false
            }
            Err(e) => {
                error = Some(e);
                true
            }
        });
        if error.is_some() || gather.remaining == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    match error {
        Some(e) => Err(e),
        None => Ok(outputs.into_iter().flatten().collect()),
    }
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("remaining", &self.remaining)
            .finish()
    }
}
