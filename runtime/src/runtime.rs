//! `Runtime`: one executor, one ring and one timer wheel on the current thread.

use crate::builder::Builder;
use crate::context;
use crate::driver::home::DriverCell;
use crate::driver::op::Orphan;
use crate::driver::{CqeResult, Driver, DriverConfig, WakeSink};
use crate::executor::remote::{CrossWake, Job, Shared};
use crate::executor::task::TaskRef;
use crate::executor::Scheduler;
use crate::time::Timers;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

/// Everything one core owns.
pub(crate) struct Core {
    pub(crate) id: usize,
    /// The driver, owned here alone; resources registered with its ring hold weak handles.
    pub(crate) driver: Rc<DriverCell>,
    pub(crate) timers: Rc<RefCell<Timers>>,
    pub(crate) sched: Scheduler,
    pub(crate) shared: Arc<Shared>,
    /// Every core started by the same `launch` (just this one for `Runtime::new`).
    pub(crate) mesh: Arc<Vec<Arc<Shared>>>,
    event_interval: usize,
    /// Scratch buffers reused every turn.
    scratch: RefCell<Scratch>,
    /// The waker of the running `block_on`'s main future, as its data and vtable pointers
    /// (null outside `block_on`), so the reap can tell it from other wakers.
    main_waker: Cell<MainWakerId>,
}

/// A waker's identity: its data and vtable pointers.
type MainWakerId = (*const (), *const RawWakerVTable);

const NO_MAIN_WAKER: MainWakerId = (std::ptr::null(), std::ptr::null());

/// The turn's [`WakeSink`]: queues this core's woken tasks on the run queue while the reap
/// runs (no waker list in between) and keeps every other waker in `later`, for after the
/// driver is released.
struct TurnWakes<'a> {
    sched: &'a Scheduler,
    shared: &'a Shared,
    later: &'a mut Vec<Waker>,
    /// The running `block_on`'s main waker ([`NO_MAIN_WAKER`] outside one).
    main: MainWakerId,
}

impl WakeSink for TurnWakes<'_> {
    #[inline(always)]
    fn wake(&mut self, waker: Waker) {
        if let Some(waker) = self.sched.wake_queued(self.shared, waker) {
            if (waker.data(), waker.vtable() as *const RawWakerVTable) == self.main {
                // The main future's waker, woken on its own core: what `MainWake` does, with
                // no list, no thread-local look-up and no call through the vtable. Dropping it
                // releases one reference to the `MainWake` (an atomic decrement), never the
                // last: `block_on` holds the waker for as long as `main` names it. (Were a
                // clone's vtable pointer ever a different copy of the same table, the compare
                // fails and the waker takes the general way below: slower, never wrong.)
                self.shared.main_woken.store(true, Ordering::Release);
                drop(waker);
            } else {
                self.later.push(waker);
            }
        }
    }
}

#[derive(Default)]
struct Scratch {
    wakes: Vec<Waker>,
    released: Vec<(Box<dyn Orphan>, CqeResult)>,
    remote: Vec<TaskRef>,
    jobs: Vec<Job>,
}

/// A ringbolt runtime for the current thread: a single-threaded executor, its own io_uring and
/// its own timer wheel.
///
/// `Runtime` is `!Send`: it (and every task on it) stays on the thread that built it. To use
/// several cores, start one runtime per core with [`Builder::launch`].
///
/// Dropping the runtime drops every task's future on this thread, cancels every in-flight
/// operation and waits for the kernel to finish with each of them, then closes the ring.
///
/// # Examples
///
/// ```
/// let rt = ringbolt_runtime::Runtime::new()?;
/// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    core: Rc<Core>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("core", &self.core.id)
            .finish()
    }
}

impl Runtime {
    /// A runtime with default settings (256 SQ entries) on the current thread, core id 0.
    ///
    /// # Errors
    ///
    /// Fails when io_uring cannot be set up; the error message names the likely cause
    /// (seccomp, `kernel.io_uring_disabled`, an old kernel, `RLIMIT_MEMLOCK`) and the fix.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder to configure ring size, cores and pinning.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn with_config(
        id: usize,
        cfg: &DriverConfig,
        event_interval: usize,
        wake: CrossWake,
        direct_files: u32,
        mesh: Option<Arc<Vec<Arc<Shared>>>>,
    ) -> io::Result<Runtime> {
        let (shared, mesh) = match mesh {
            Some(m) => (m[id].clone(), m),
            None => {
                let s = Arc::new(Shared::new()?);
                (s.clone(), Arc::new(vec![s]))
            }
        };
        let mut driver = Driver::new(cfg, shared.eventfd())?;
        if direct_files > 0 {
            crate::driver::ops::direct::register_table(&driver, direct_files)?;
        }
        // The epoll driver has no ring to post MSG_RING wakes to: it is woken by its eventfd.
        let wake = if driver.kind() == crate::DriverKind::Epoll {
            CrossWake::Eventfd
        } else {
            wake
        };
        shared.set_ring(driver.ring_fd(), wake);
        #[cfg(feature = "tracing")]
        match driver.kind() {
            crate::DriverKind::Epoll => {
                tracing::info!(target: "ringbolt::ring", core = id, driver = "epoll", "epoll driver set up (io_uring not used)")
            }
            _ => {
                tracing::info!(target: "ringbolt::ring", core = id, driver = "io_uring", features = ?driver.features(), "io_uring set up")
            }
        }
        let mut sched = Scheduler::new();
        let metrics = cfg
            .obs
            .metrics
            .then(|| crate::metrics::CoreMetrics::register(id, Arc::as_ptr(&mesh) as usize));
        if cfg.obs.stall_threshold.is_some() || metrics.is_some() {
            driver.metrics = metrics.clone();
            sched.set_timing(crate::executor::Timing {
                core: id,
                threshold: cfg.obs.stall_threshold.map_or(u64::MAX, |t| {
                    crate::clock::from_nanos(t.as_nanos().min(u64::MAX as u128) as u64)
                }),
                hook: cfg.obs.on_stall.clone(),
                metrics,
                last: std::cell::Cell::new(0),
            });
        }
        Ok(Runtime {
            core: Rc::new(Core {
                id,
                driver: DriverCell::new(driver),
                timers: Rc::new(RefCell::new(Timers::new())),
                sched,
                shared,
                mesh,
                event_interval: event_interval.max(1),
                scratch: RefCell::new(Scratch::default()),
                main_waker: Cell::new(NO_MAIN_WAKER),
            }),
        })
    }

    /// Runs `future` to completion on this thread, running spawned tasks and I/O meanwhile.
    ///
    /// Tasks still running when it returns stay on the runtime and go on at the next
    /// `block_on`, or are dropped with the runtime.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a runtime on this thread, or if `io_uring_enter` fails in a
    /// way that leaves the ring unusable (`EBADF`, `EFAULT`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let location = std::panic::Location::caller();
        let _guard = context::enter(&self.core);
        let core = &*self.core;
        let mut future = pin!(future);
        let waker = main_waker(&core.shared);
        // The reap wakes it in place (see `TurnWakes`) while this `block_on` runs; the guard
        // forgets it on every way out, before `waker` drops (locals drop in reverse order).
        core.main_waker
            .set((waker.data(), waker.vtable() as *const RawWakerVTable));
        let _main = ForgetMainWaker(core);
        let mut cx = Context::from_waker(&waker);
        core.shared.main_woken.store(true, Ordering::Release);
        if let Some(t) = core.sched.timing() {
            t.mark();
        }
        loop {
            if core.shared.main_woken.load(Ordering::Acquire)
                && core.shared.main_woken.swap(false, Ordering::AcqRel)
            {
                let polled = match core.sched.timing() {
                    Some(t) => t.time_main(location, || future.as_mut().poll(&mut cx)),
                    None => future.as_mut().poll(&mut cx),
                };
                if let Poll::Ready(v) = polled {
                    // SQEs queued during the last poll (a MSG_RING wake of another core, an
                    // op a task started) must not wait for the next block_on.
                    core.flush();
                    if let Some(m) = core.sched.timing().and_then(|t| t.metrics.as_ref()) {
                        m.publish(&core.stats());
                    }
                    return v;
                }
            }
            core.sched.run(core.event_interval);
            core.turn();
        }
    }

    /// Counters of this runtime; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }
}

impl Core {
    /// One event-loop turn: remote wakes, one `io_uring_enter`, completions, timers.
    fn turn(&self) {
        let mut scratch = self.scratch.borrow_mut();
        let scratch = &mut *scratch;
        self.drain_remote(&mut scratch.remote, &mut scratch.jobs);
        let idle = self.sched.is_idle()
            && !self.shared.main_woken.load(Ordering::Acquire)
            && !self.shared.has_pending();
        let has_timers = self.timers.borrow().len() > 0;
        // The wait timeout matters only when the turn may sleep: a busy turn reads no clock here.
        let timeout = if idle && has_timers {
            self.timers.borrow().next_timeout(Instant::now())
        } else {
            None
        };
        let wait = idle && timeout != Some(Duration::ZERO);
        if wait {
            if let Some(m) = self.sched.timing().and_then(|t| t.metrics.as_ref()) {
                m.publish(&self.stats());
            }
        }
        {
            let mut driver = self.driver.borrow_mut();
            // This core's tasks go on the run queue during the reap; other wakers wait in
            // `scratch.wakes` until the driver is released.
            let mut sink = TurnWakes {
                sched: &self.sched,
                shared: &self.shared,
                later: &mut scratch.wakes,
                main: self.main_waker.get(),
            };
            if let Err(e) = driver.enter_with(wait, timeout, &mut sink) {
                panic!("ringbolt: io_uring_enter failed and the ring is unusable: {e}");
            }
            if let Some(m) = &driver.metrics {
                m.turn_reaped(driver.stats.cqes_reaped);
            }
            // Wakes found by reaps during the tasks' polls (a submit into a full SQ).
            if !driver.wakes.is_empty() {
                scratch.wakes.append(&mut driver.wakes);
            }
            std::mem::swap(&mut driver.released, &mut scratch.released);
        }
        self.wake_all(&mut scratch.wakes);
        if !scratch.released.is_empty() {
            for (orphan, cqe) in scratch.released.drain(..) {
                orphan.finish(cqe);
            }
        }
        // Driver work requested while the driver was borrowed (e.g. unregistering a buffer
        // ring dropped during a reap).
        self.driver.run_deferred();
        // Only timers need the clock; a turn without any skips `Instant::now`. (Nothing run
        // since the check above can add a timer except drop code, so look again.)
        if has_timers || self.timers.borrow().len() > 0 {
            let now = Instant::now();
            self.timers.borrow_mut().process(now, &mut scratch.wakes);
            self.wake_all(&mut scratch.wakes);
        }
        self.drain_remote(&mut scratch.remote, &mut scratch.jobs);
        if let Some(t) = self.sched.timing() {
            // The next poll is timed from here when this turn may have slept in the enter;
            // after a busy turn the chain goes on, charging the turn's own few microseconds to
            // the next poll and saving a clock read.
            if wait {
                t.mark();
            }
            // Counters are published before sleeping (so they are exact while the core is
            // idle) and every 32nd busy turn.
            if let Some(m) = &t.metrics {
                if m.publish_due() {
                    m.publish(&self.stats());
                }
            }
        }
    }

    /// Wakes and empties `wakes`; nothing to do (not even a `Drain`) when it is empty.
    #[inline]
    fn wake_all(&self, wakes: &mut Vec<Waker>) {
        if !wakes.is_empty() {
            for w in wakes.drain(..) {
                self.sched.wake(&self.shared, w);
            }
        }
    }

    /// Submits queued SQEs without waiting.
    fn flush(&self) {
        let mut d = self.driver.borrow_mut();
        if d.has_queued() {
            // An error here resurfaces at the next turn's enter.
            let _ = d.enter(false, None);
        }
    }

    #[inline]
    fn drain_remote(&self, tasks: &mut Vec<TaskRef>, jobs: &mut Vec<Job>) {
        if self.shared.has_pending() {
            self.drain_remote_slow(tasks, jobs);
        }
    }

    #[inline(never)]
    fn drain_remote_slow(&self, tasks: &mut Vec<TaskRef>, jobs: &mut Vec<Job>) {
        self.shared.take(tasks, jobs);
        for task in tasks.drain(..) {
            self.sched.schedule_local(task);
        }
        for job in jobs.drain(..) {
            // A job only spawns (spawn_on catches the closure's panic itself); never let
            // one unwind through the event loop.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let d = self.driver.borrow();
        let ds = d.stats;
        Stats {
            core_id: self.id,
            tasks_spawned: self.sched.tasks_spawned.get(),
            tasks_polled: self.sched.tasks_polled.get(),
            tasks_alive: self.sched.tasks_alive(),
            ops_submitted: ds.ops_submitted,
            ops_completed: ds.ops_completed,
            ops_cancelled: ds.ops_cancelled,
            ops_in_flight: d.in_flight(),
            enters: ds.enters,
            cq_overflows: ds.cq_overflows,
            stale_cqes: ds.stale_cqes,
            cqes_reaped: ds.cqes_reaped,
            driver: d.kind(),
            timers_pending: self.timers.try_borrow().map(|t| t.len()).unwrap_or(0),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // May run inside another runtime's block_on (that one is restored afterwards).
        let _guard = context::switch(&self.core);
        let core = &*self.core;
        // Every step runs whatever an earlier one did (pitfall 17): a panic from user drop code
        // (a task's future, a job's closure, a buffer released by a late CQE) is kept and
        // raised once the ring has been drained and closed.
        let mut panic = None;
        let mut step = |f: &mut dyn FnMut()| {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                panic.get_or_insert(p);
            }
        };
        step(&mut || core.sched.shutdown());
        step(&mut || core.shared.close());
        step(&mut || {
            let caught = core.driver.borrow_mut().shutdown();
            if let Some(p) = caught {
                std::panic::resume_unwind(p);
            }
        });
        step(&mut || {
            // Wakes found during shutdown have nobody left to run.
            let mut d = core.driver.borrow_mut();
            d.wakes.clear();
            let released = std::mem::take(&mut d.released);
            drop(d);
            for (orphan, cqe) in released {
                orphan.finish(cqe);
            }
        });
        step(&mut || core.sched.shutdown());
        step(&mut || core.driver.run_deferred());
        if let Some(p) = panic {
            if !std::thread::panicking() {
                std::panic::resume_unwind(p);
            }
        }
    }
}

/// Counters of one core, for tests, benchmarks and monitoring. Read them with [`stats`] from a
/// task or [`Runtime::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The core's id (0 for [`Runtime::new`]).
    pub core_id: usize,
    /// Tasks spawned since start.
    pub tasks_spawned: u64,
    /// Task polls since start.
    pub tasks_polled: u64,
    /// Tasks spawned and not yet finished.
    pub tasks_alive: usize,
    /// Ops pushed to the submission queue.
    pub ops_submitted: u64,
    /// Ops whose final CQE was reaped.
    pub ops_completed: u64,
    /// Cancellation requests sent for dropped in-flight ops.
    pub ops_cancelled: u64,
    /// Ops submitted whose final CQE has not arrived.
    pub ops_in_flight: usize,
    /// `io_uring_enter` calls.
    pub enters: u64,
    /// Turns that found the completion queue overflowed (completions kept by the kernel and
    /// flushed, never lost).
    pub cq_overflows: u64,
    /// CQEs that matched no live op (should stay 0; counted to prove it).
    pub stale_cqes: u64,
    /// Timers waiting in the wheel.
    pub timers_pending: usize,
    /// CQEs reaped from the completion queue (ops' and the runtime's own).
    pub cqes_reaped: u64,
    /// The driver carrying this core's I/O ([`DriverKind::IoUring`](crate::DriverKind) or
    /// `Epoll`). On epoll, `enters` counts `epoll_wait` calls and CQEs are the driver's own.
    pub driver: crate::DriverKind,
}

/// The current core's counters.
///
/// # Panics
///
/// Panics outside a runtime.
pub fn stats() -> Stats {
    context::with_core(|c| c.stats()).expect("ringbolt::stats called outside a ringbolt runtime")
}

/// The id of the core the calling task runs on: `0..cores` under [`Builder::launch`], 0 for a
/// [`Runtime::new`] runtime.
///
/// # Panics
///
/// Panics outside a runtime.
pub fn core_id() -> usize {
    context::with_core(|c| c.id).expect("ringbolt::core_id called outside a ringbolt runtime")
}

/// The waker of `block_on`'s main future: sets the core's `main_woken` flag and, from another
/// thread, rings the core.
struct MainWake(Arc<Shared>);

impl std::task::Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.main_woken.store(true, Ordering::Release);
        let local = context::with_core(|c| Arc::ptr_eq(&c.shared, &self.0)).unwrap_or(false);
        if !local {
            self.0.notify();
        }
    }
}

/// Clears the core's record of `block_on`'s main waker when `block_on` returns or unwinds.
struct ForgetMainWaker<'a>(&'a Core);

impl Drop for ForgetMainWaker<'_> {
    fn drop(&mut self) {
        self.0.main_waker.set(NO_MAIN_WAKER);
    }
}

/// One allocation per `block_on`, none per wake.
fn main_waker(shared: &Arc<Shared>) -> Waker {
    Waker::from(Arc::new(MainWake(shared.clone())))
}
