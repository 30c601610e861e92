//! The launcher behind [`Builder::launch`](crate::Builder::launch) and
//! [`Builder::launch_with_shutdown`](crate::Builder::launch_with_shutdown): one thread and one
//! runtime per core, a shared [`Shutdown`], a drain, and failing fast.
//!
//! Rules:
//! 1. Every core runs its future until the shared shutdown is triggered: by the user, by the
//!    first core that fails (could not start, its future panicked or returned a failure), or by
//!    the last core whose future returns. Meanwhile a core whose future has returned keeps
//!    running its tasks and serving the other cores.
//! 2. On the trigger each core cancels its token, then waits until its future and all its
//!    tasks are done, or until the drain deadline (the trigger's instant plus the drain time,
//!    the same for every core). At the deadline it drops its future if still running and aborts
//!    its tasks, counting them.
//! 3. A core that is done keeps serving the others (jobs, wakes) until every core is done; the
//!    last one to finish wakes the others' `block_on`, and then all runtimes shut down.
//! 4. Every exit path of a core thread counts it as done, and a failing one triggers the
//!    shutdown, so one core's failure never leaves the others waiting.

use crate::driver::DriverConfig;
use crate::executor::remote::{CrossWake, Shared};
use crate::runtime::Runtime;
use crate::shutdown::Shutdown;
use crate::sync::CancellationToken;
use std::any::Any;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What `launch` was asked for, resolved by the builder.
pub(crate) struct Plan {
    pub(crate) cores: usize,
    /// The CPU of each core when pinning.
    pub(crate) cpus: Option<Vec<usize>>,
    pub(crate) cfg: DriverConfig,
    pub(crate) event_interval: usize,
    pub(crate) wake: CrossWake,
    /// Slots of each core's direct-descriptor table (`Builder::direct_files`).
    pub(crate) direct_files: u32,
}

/// What one core did.
pub(crate) struct Outcome<O> {
    /// The future's output; `None` when it was aborted at the drain deadline (or panicked).
    pub(crate) output: Option<O>,
    /// Why the core failed: it could not start, or its future panicked.
    pub(crate) failure: Option<io::Error>,
    pub(crate) drained: usize,
    pub(crate) aborted: usize,
}

/// Every core's outcome, in core order, and the core that failed first.
pub(crate) struct Outcomes<O> {
    pub(crate) cores: Vec<Outcome<O>>,
    pub(crate) first_failed: Option<usize>,
}

impl<O> Outcomes<O> {
    /// The first failure as an error, if it is a start failure or a panic (rather than a
    /// failure the output itself carries).
    pub(crate) fn take_failure(&mut self) -> Option<io::Error> {
        let core = self.first_failed?;
        self.cores[core].failure.take()
    }
}

/// State the cores of one launch share.
struct Group<'a> {
    n: usize,
    shutdown: &'a Shutdown,
    mesh: &'a [Arc<Shared>],
    /// Cores whose future has returned (rule 1).
    returned: AtomicUsize,
    /// Cores done with their drain (rule 3).
    finished: AtomicUsize,
    first_failed: AtomicUsize,
}

impl Group<'_> {
    /// A core failed: remember the first, start the shutdown (rules 1 and 4).
    fn fail(&self, core: usize) {
        let _ = self.first_failed.compare_exchange(
            usize::MAX,
            core,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.shutdown.trigger();
    }

    /// A core's future returned without failing (rule 1).
    fn returned(&self) {
        if self.returned.fetch_add(1, Ordering::AcqRel) + 1 >= self.n {
            self.shutdown.trigger();
        }
    }

    /// Counts `k` more cores as done; the arrival that completes the count wakes every core's
    /// `block_on` through the remote-wake path (rule 3).
    fn arrive(&self, k: usize) {
        let before = self.finished.fetch_add(k, Ordering::AcqRel);
        if before < self.n && before + k >= self.n {
            for shared in self.mesh {
                shared.wake_main();
            }
        }
    }

    fn all_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire) >= self.n
    }
}

/// Counts a core as done (once), at the latest when dropped; a core thread unwinding past it
/// has failed (rule 4).
struct Done<'g, 'a> {
    group: &'g Group<'a>,
    core: usize,
    marked: bool,
}

impl Done<'_, '_> {
    fn mark(&mut self) {
        if !self.marked {
            self.marked = true;
            self.group.arrive(1);
        }
    }
}

impl Drop for Done<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.group.fail(self.core);
        }
        self.mark();
    }
}

/// Runs `f(core, token)` on every core of `plan` (see the module rules). `is_failure` says which
/// outputs count as a core failure.
///
/// # Errors
///
/// A thread could not be started (after the started cores were stopped).
pub(crate) fn run<F, Fut>(
    plan: &Plan,
    shutdown: &Shutdown,
    drain: Duration,
    f: F,
    is_failure: fn(&Fut::Output) -> bool,
) -> io::Result<Outcomes<Fut::Output>>
where
    F: Fn(usize, CancellationToken) -> Fut + Sync,
    Fut: Future,
    Fut::Output: Send,
{
    let n = plan.cores;
    let mesh: Vec<Arc<Shared>> = (0..n)
        .map(|_| Shared::new().map(Arc::new))
        .collect::<io::Result<_>>()?;
    let mesh = Arc::new(mesh);
    let group = Group {
        n,
        shutdown,
        mesh: &mesh[..],
        returned: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        first_failed: AtomicUsize::new(usize::MAX),
    };
    let group = &group;
    let f = &f;
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(n);
        for core in 0..n {
            let cpu = plan.cpus.as_ref().map(|c| c[core]);
            let cfg = plan.cfg.clone();
            let interval = plan.event_interval;
            let wake = plan.wake;
            let direct_files = plan.direct_files;
            let core_mesh = mesh.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ringbolt-core-{core}"))
                .spawn_scoped(scope, move || -> Outcome<Fut::Output> {
                    let mut done = Done {
                        group,
                        core,
                        marked: false,
                    };
                    let failed = |e: io::Error| {
                        group.fail(core);
                        Outcome {
                            output: None,
                            failure: Some(e),
                            drained: 0,
                            aborted: 0,
                        }
                    };
                    if let Some(cpu) = cpu {
                        if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
                            return failed(io::Error::other(format!(
                                "core {core}: could not pin the thread to CPU {cpu} (is it in this process's CPU set?)"
                            )));
                        }
                    }
                    let rt = match Runtime::with_config(
                        core,
                        &cfg,
                        interval,
                        wake,
                        direct_files,
                        Some(core_mesh),
                    ) {
                        Ok(rt) => rt,
                        Err(e) => {
                            return failed(io::Error::new(e.kind(), format!("core {core}: {e}")))
                        }
                    };
                    let body = catch_unwind(AssertUnwindSafe(|| {
                        rt.block_on(core_body(core, group, drain, f, is_failure))
                    }));
                    let outcome = body.unwrap_or_else(|p| {
                        failed(io::Error::other(format!(
                            "core {core} panicked: {}",
                            panic_message(&*p)
                        )))
                    });
                    done.mark();
                    // Rule 3: parks in io_uring_enter until the last core wakes it.
                    rt.block_on(poll_fn(|_| {
                        if group.all_finished() {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    }));
                    drop(rt);
                    outcome
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // The cores not started count as done, so started ones can finish.
                    group.fail(core);
                    group.arrive(n - core);
                    for h in handles {
                        let _ = h.join();
                    }
                    return Err(io::Error::new(
                        e.kind(),
                        format!("could not start the thread of core {core}: {e}"),
                    ));
                }
            }
        }
        let cores = handles
            .into_iter()
            .enumerate()
            .map(|(core, h)| {
                h.join().unwrap_or_else(|_| Outcome {
                    output: None,
                    failure: Some(io::Error::other(format!(
                        "core {core}: its thread panicked while shutting down"
                    ))),
                    drained: 0,
                    aborted: 0,
                })
            })
            .collect();
        let first = group.first_failed.load(Ordering::Acquire);
        Ok(Outcomes {
            cores,
            first_failed: (first != usize::MAX).then_some(first),
        })
    })
}

/// A core's future while it runs, and what it left when it ended.
struct Main<'g, 'a, Fut: Future> {
    future: Option<Pin<Box<Fut>>>,
    core: usize,
    group: &'g Group<'a>,
    is_failure: fn(&Fut::Output) -> bool,
    out: Outcome<Fut::Output>,
}

impl<Fut: Future> Main<'_, '_, Fut> {
    /// Polls the future if it still runs; records its output, failure or panic (rule 1).
    fn poll(&mut self, cx: &mut Context<'_>) {
        let Some(fut) = self.future.as_mut() else {
            return;
        };
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return,
            Ok(Poll::Ready(o)) => {
                if (self.is_failure)(&o) {
                    self.group.fail(self.core);
                } else {
                    self.group.returned();
                }
                self.out.output = Some(o);
            }
            Err(p) => self.panicked(&*p),
        }
        self.future = None;
    }

    fn panicked(&mut self, payload: &(dyn Any + Send)) {
        self.out.failure = Some(io::Error::other(format!(
            "core {} panicked: {}",
            self.core,
            panic_message(payload)
        )));
        self.group.fail(self.core);
    }

    fn is_running(&self) -> bool {
        self.future.is_some()
    }
}

/// This core's (tasks alive, tasks spawned so far).
fn task_counts() -> (usize, u64) {
    crate::context::with_core(|c| (c.sched.tasks_alive(), c.sched.tasks_spawned.get()))
        .unwrap_or((0, 0))
}

/// One core's life inside its runtime: run, drain, abort (rules 1 and 2).
async fn core_body<F, Fut>(
    core: usize,
    group: &Group<'_>,
    drain: Duration,
    f: &F,
    is_failure: fn(&Fut::Output) -> bool,
) -> Outcome<Fut::Output>
where
    F: Fn(usize, CancellationToken) -> Fut,
    Fut: Future,
{
    let token = CancellationToken::new();
    let mut main = Main {
        future: None,
        core,
        group,
        is_failure,
        out: Outcome {
            output: None,
            failure: None,
            drained: 0,
            aborted: 0,
        },
    };
    match catch_unwind(AssertUnwindSafe(|| f(core, token.clone()))) {
        Ok(fut) => main.future = Some(Box::pin(fut)),
        Err(p) => main.panicked(&*p),
    }
    {
        let mut triggered = pin!(group.shutdown.triggered());
        poll_fn(|cx| {
            main.poll(cx);
            triggered.as_mut().poll(cx)
        })
        .await;
    }
    token.cancel();
    let (alive_at_start, spawned_at_start) = task_counts();
    let start = group.shutdown.triggered_at().unwrap_or_else(Instant::now);
    // A drain too long for `Instant` never ends by itself.
    let mut deadline = pin!(start.checked_add(drain).map(crate::time::sleep_until));
    poll_fn(|cx| {
        main.poll(cx);
        if !main.is_running() {
            let drained = crate::context::with_core(|c| {
                let none_left = c.sched.tasks_alive() == 0;
                if !none_left {
                    c.sched.wake_when_no_tasks(cx.waker());
                }
                none_left
            });
            if drained != Some(false) {
                return Poll::Ready(());
            }
        }
        match deadline.as_mut().as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => Poll::Pending,
        }
    })
    .await;
    // Past the deadline (or drained): drop the future if it still runs, abort what is left.
    main.future = None;
    let aborted = crate::context::with_core(|c| c.sched.abort_all()).unwrap_or(0);
    let (_, spawned_now) = task_counts();
    let total = alive_at_start + (spawned_now - spawned_at_start) as usize;
    let mut out = main.out;
    out.aborted = aborted;
    out.drained = total.saturating_sub(aborted);
    out
}

/// The message of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}
