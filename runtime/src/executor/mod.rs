//! The single-threaded executor: run queue, task registry, spawn, yield.
//!
//! Rules:
//! 1. Tasks never leave the thread that spawned them; only wakes cross threads (see `remote`).
//! 2. Every live task is in the registry, so shutdown can drop every future on its own thread.
//! 3. A panic while polling a task is caught; the task ends with a `JoinError` carrying it and
//!    every other task keeps running.
//! 4. Shutdown drops futures until none is left; a future whose drop keeps spawning is cut off
//!    after many rounds: later spawns leak their future (never dropped without a runtime).

pub(crate) mod blocking;
pub(crate) mod join;
mod registry;
pub(crate) mod remote;
mod run_queue;
mod site;
pub(crate) mod spawn_on;
pub(crate) mod task;

use crate::clock;
use crate::context;
use crate::metrics::CoreMetrics;
use crate::stall::{StallHook, StallKind, StallReport};
use join::JoinHandle;
use registry::Registry;
use run_queue::RunQueue;
use site::{Site, Sites};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use task::{TaskRef, COMPLETE, JOIN_INTEREST, NOT_POLLABLE, SCHEDULED};

/// Per-core run queue and task registry.
pub(crate) struct Scheduler {
    run_queue: RunQueue,
    registry: RefCell<Registry>,
    /// The tasks' sites (remote-wake queue and spawn location), one per location.
    sites: Sites,
    pub(crate) tasks_spawned: Cell<u64>,
    pub(crate) tasks_polled: Cell<u64>,
    /// Set by `shutdown` after many rounds of drops that keep spawning: later spawns leak their
    /// future instead of running or dropping it (rule 4).
    refuse_spawns: Cell<bool>,
    /// Woken when the last task ends (a graceful shutdown waiting for tasks to drain).
    no_tasks_waker: Cell<Option<Waker>>,
    /// Stall detection and metrics; `None` when both are off (no clock is read).
    timing: Option<Box<Timing>>,
}

/// What the executor measures per poll when stall detection or metrics are on.
pub(crate) struct Timing {
    pub(crate) core: usize,
    /// The stall threshold in clock ticks; `u64::MAX` when stall detection is off.
    pub(crate) threshold: u64,
    pub(crate) hook: Option<StallHook>,
    pub(crate) metrics: Option<Arc<CoreMetrics>>,
    /// The tick at the end of the last timed poll or loop turn: where the next poll starts.
    pub(crate) last: Cell<u64>,
}

impl Timing {
    #[cold]
    #[inline(never)]
    fn stall(
        &self,
        kind: StallKind,
        location: &'static Location<'static>,
        ticks: u64,
        polls: usize,
    ) {
        if let Some(m) = &self.metrics {
            match kind {
                StallKind::Turn => m.stalled_turns.add(1),
                _ => m.stalled_polls.add(1),
            }
        }
        let report = StallReport {
            core: self.core,
            kind,
            location,
            duration: std::time::Duration::from_nanos(clock::to_nanos(ticks)),
            polls,
        };
        crate::stall::report(&report, self.hook.as_ref());
    }

    /// Records one poll that started at `start`; returns the tick it ended.
    #[inline]
    fn polled(&self, start: u64, location: &'static Location<'static>) -> u64 {
        let now = clock::ticks();
        let d = now.saturating_sub(start);
        if let Some(m) = &self.metrics {
            m.poll.record(d);
        }
        if d >= self.threshold {
            self.stall(StallKind::Poll, location, d, 1);
        }
        now
    }

    /// Times one poll of the main future of `block_on`, chained like the tasks' polls.
    #[inline]
    pub(crate) fn time_main<R>(
        &self,
        location: &'static Location<'static>,
        poll: impl FnOnce() -> R,
    ) -> R {
        let r = poll();
        self.last.set(self.polled(self.last.get(), location));
        r
    }

    /// Marks the end of a loop turn (or the start of a `block_on`): the next poll starts here.
    #[inline]
    pub(crate) fn mark(&self) {
        self.last.set(clock::ticks());
    }
}

/// The polls of one timed turn that may matter for a stall report: a poll of at least `floor`
/// ticks takes the slow path ([`poll`](Self::poll)), the only one that looks at stalls.
///
/// `floor` never exceeds the threshold, so every stalled poll is seen; and it is at most the
/// longer of `threshold / budget` and one more than the longest poll seen, so the longest poll
/// of a stalled turn is seen too: a turn of at most `budget` polls that lasts `threshold` has a
/// poll of at least `threshold / budget`. Quick polls (nearly all) cost one compare.
struct LongPolls {
    floor: u64,
    /// The longest poll seen and its task's spawn location (the first task's until then).
    longest: u64,
    location: &'static Location<'static>,
    /// A poll of this turn was reported as a stall: the turn is not reported again.
    reported: bool,
}

impl LongPolls {
    #[inline]
    fn new(t: &Timing, budget: usize, first: &'static Location<'static>) -> LongPolls {
        LongPolls {
            floor: t.threshold / budget.max(1) as u64,
            longest: 0,
            location: first,
            reported: false,
        }
    }

    /// A poll of `d` ticks (at least `floor`, or the clock went back) of the task spawned at
    /// `location`.
    #[cold]
    #[inline(never)]
    fn poll(&mut self, t: &Timing, d: u64, location: &'static Location<'static>) {
        if d >= t.threshold {
            self.reported = true;
            t.stall(StallKind::Poll, location, d, 1);
        }
        if d > self.longest {
            self.longest = d;
            self.location = location;
            self.floor = self.floor.max(d.saturating_add(1)).min(t.threshold);
        }
    }
}

impl Scheduler {
    pub(crate) fn new() -> Scheduler {
        Scheduler {
            run_queue: RunQueue::with_capacity(1024),
            registry: RefCell::new(Registry::with_capacity(1024)),
            sites: Sites::new(),
            tasks_spawned: Cell::new(0),
            tasks_polled: Cell::new(0),
            refuse_spawns: Cell::new(false),
            no_tasks_waker: Cell::new(None),
            timing: None,
        }
    }

    /// Turns on per-poll timing (stall detection, metrics).
    pub(crate) fn set_timing(&mut self, timing: Timing) {
        clock::calibrate();
        self.timing = Some(Box::new(timing));
    }

    pub(crate) fn timing(&self) -> Option<&Timing> {
        self.timing.as_deref()
    }

    pub(crate) fn spawn<F>(
        &self,
        shared: &Arc<remote::Shared>,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.refuse_spawns.get() {
            return refused(shared, future, location);
        }
        // Three references: registry, run queue, JoinHandle.
        let task = TaskRef::new(
            future,
            self.sites.get(shared, location),
            3,
            SCHEDULED | JOIN_INTEREST,
        );
        #[cfg(feature = "tracing")]
        tracing::trace!(
            target: "ringbolt::task",
            task = task.as_ptr().as_ptr() as usize,
            spawned_at = %location,
            "task spawned"
        );
        let key = self
            .registry
            .borrow_mut()
            .insert(TaskRef::clone_without_count(&task));
        task.header().registry_key.set(key);
        self.run_queue.push(TaskRef::clone_without_count(&task));
        self.tasks_spawned.set(self.tasks_spawned.get() + 1);
        JoinHandle::new(task)
    }

    /// Queues a woken task on its own thread.
    #[inline]
    pub(crate) fn schedule_local(&self, task: TaskRef) {
        drop(self.try_queue(task));
    }

    /// Queues `task` unless it is already queued or finished; then the reference comes back,
    /// for the caller to release (dropping it may free the task).
    #[inline(always)]
    fn try_queue(&self, task: TaskRef) -> Option<TaskRef> {
        let h = task.header();
        let state = h.state.get();
        if state & (SCHEDULED | COMPLETE) != 0 {
            return Some(task);
        }
        h.state.set(state | SCHEDULED);
        self.run_queue.push(task);
        None
    }

    /// Wakes `waker` from this core's event loop (`shared` is the core's remote-wake queue):
    /// a task waker of this core is queued directly, without the thread-local lookup a plain
    /// `wake` makes; any other waker is woken as usual.
    #[inline]
    pub(crate) fn wake(&self, shared: &Arc<remote::Shared>, waker: Waker) {
        match task::waker_into_task(waker) {
            Ok(task) if Arc::ptr_eq(task.header().shared(), shared) => self.schedule_local(task),
            Ok(task) => schedule(task),
            Err(waker) => waker.wake(),
        }
    }

    /// Queues `waker`'s task when it is a task of this core (`shared` is the core's
    /// remote-wake queue) that is neither queued nor finished; gives back every other waker,
    /// for [`wake`](Self::wake) later. Runs no user code and drops no task reference (the
    /// driver's reap calls it while the driver is borrowed).
    ///
    /// `shared` is taken as the plain pointer the tasks' `Arc`s hold, so the check is one
    /// compare with no load through the caller's `Arc`.
    #[inline(always)]
    pub(crate) fn wake_queued(&self, shared: &remote::Shared, waker: Waker) -> Option<Waker> {
        match task::waker_into_task(waker) {
            // Nothing queued: the reference is released later, outside the reap.
            Ok(task) if std::ptr::eq(Arc::as_ptr(task.header().shared()), shared) => {
                self.try_queue(task).map(TaskRef::into_waker)
            }
            Ok(task) => Some(task.into_waker()),
            Err(waker) => Some(waker),
        }
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.run_queue.is_empty()
    }

    pub(crate) fn tasks_alive(&self) -> usize {
        self.registry.borrow().len()
    }

    /// Runs up to `budget` tasks; returns how many ran.
    pub(crate) fn run(&self, budget: usize) -> usize {
        if let Some(t) = &self.timing {
            return self.run_timed(budget, t);
        }
        let mut n = 0;
        while n < budget {
            let Some(task) = self.run_queue.pop() else {
                self.trim_run_queue();
                break;
            };
            n += 1;
            self.run_one(&task);
        }
        self.tasks_polled.set(self.tasks_polled.get() + n as u64);
        n
    }

    /// Gives back the room of a run queue that a burst of spawns grew and that is empty now,
    /// so idle tasks cost no queue memory (one compare when the queue runs dry).
    #[inline]
    fn trim_run_queue(&self) {
        self.run_queue.trim(1024);
    }

    /// `run` with one clock read per poll: stall detection and metrics. The polls are timed
    /// back to back from `Timing::last` (the end of the previous poll or loop turn).
    #[inline(never)]
    fn run_timed(&self, budget: usize, t: &Timing) -> usize {
        // The clock's source is asked once per call, not once per poll.
        match (&t.metrics, clock::uses_tsc()) {
            (None, true) => self.run_timed_with::<false, true>(budget, t),
            (None, false) => self.run_timed_with::<false, false>(budget, t),
            (Some(_), true) => self.run_timed_with::<true, true>(budget, t),
            (Some(_), false) => self.run_timed_with::<true, false>(budget, t),
        }
    }

    /// `run_timed`, with the metrics recorded or not and the clock's source known: the loop
    /// reads the clock and makes one compare per poll; everything about stalls happens out of line in `LongPolls::poll`.
    #[inline(always)]
    fn run_timed_with<const METRICS: bool, const TSC: bool>(
        &self,
        budget: usize,
        t: &Timing,
    ) -> usize {
        let Some(mut task) = self.run_queue.pop() else {
            self.trim_run_queue();
            return 0;
        };
        let start = t.last.get();
        let mut last = start;
        let mut n = 0;
        let mut long = LongPolls::new(t, budget, task.header().location());
        loop {
            n += 1;
            self.run_one(&task);
            let now = clock::ticks_from::<TSC>();
            // Wrapping: a clock that went back gives a huge figure, which takes the slow path
            // (where it counts as zero).
            let d = now.wrapping_sub(last);
            if METRICS {
                if let Some(m) = &t.metrics {
                    m.poll.record(now.saturating_sub(last));
                }
            }
            if d >= long.floor {
                long.poll(t, now.saturating_sub(last), task.header().location());
            }
            drop(task);
            last = now;
            if n >= budget {
                break;
            }
            let Some(next) = self.run_queue.pop() else {
                self.trim_run_queue();
                break;
            };
            task = next;
        }
        let busy = last.saturating_sub(start);
        if METRICS {
            if let Some(m) = &t.metrics {
                m.turn.record(busy);
            }
        }
        if !long.reported && busy >= t.threshold {
            t.stall(StallKind::Turn, long.location, busy, n);
        }
        t.last.set(last);
        self.tasks_polled.set(self.tasks_polled.get() + n as u64);
        n
    }

    /// Polls a popped task. Its state keeps no mark of the poll: an abort from inside the poll
    /// finds `SCHEDULED` clear and queues the task, whose next pop cancels it (`CANCELLED` is
    /// one of the [`NOT_POLLABLE`] bits), so nothing is checked after a pending poll.
    #[inline(always)]
    fn run_one(&self, task: &TaskRef) {
        let h = task.header();
        let state = h.state.get();
        if state & NOT_POLLABLE != 0 {
            return self.run_one_unpollable(task, state & !SCHEDULED);
        }
        h.state.set(state & !SCHEDULED);
        #[cfg(feature = "tracing")]
        let _span = tracing::trace_span!(
            target: "ringbolt::task",
            "poll",
            task = task.as_ptr().as_ptr() as usize,
            spawned_at = %h.location()
        )
        .entered();
        // SAFETY: the state has no `NOT_POLLABLE` bit (checked above, and only this thread
        // changes it), so the stage holds the future.
        let done = unsafe { task.poll() };
        if done {
            self.complete(task);
        }
    }

    /// `run_one` of a task that must not be polled: finished (`state` is its state without
    /// `SCHEDULED`), or aborted while it waited in the queue or during its last poll.
    #[cold]
    #[inline(never)]
    fn run_one_unpollable(&self, task: &TaskRef, state: u8) {
        task.header().state.set(state);
        if state & COMPLETE != 0 {
            return;
        }
        // Cancelled; or (never seen) a stage without the future: `cancel` then only finishes.
        task.cancel();
        self.complete(task);
    }

    fn complete(&self, task: &TaskRef) {
        let h = task.header();
        #[cfg(feature = "tracing")]
        tracing::trace!(
            target: "ringbolt::task",
            task = task.as_ptr().as_ptr() as usize,
            spawned_at = %h.location(),
            "task completed"
        );
        h.state.set(h.state.get() | COMPLETE);
        if let Some(w) = h.take_join_waker() {
            w.wake();
        }
        let key = h.registry_key.get();
        let removed = self.registry.borrow_mut().remove(key);
        drop(removed);
        if let Some(w) = self.no_tasks_waker.take() {
            if self.registry.borrow().is_empty() {
                w.wake();
            } else {
                self.no_tasks_waker.set(Some(w));
            }
        }
    }

    /// Wakes `waker` once when no task is left on this core (at once if none is). One waiter at
    /// a time: a later call replaces the earlier waker.
    pub(crate) fn wake_when_no_tasks(&self, waker: &Waker) {
        if self.registry.borrow().is_empty() {
            waker.wake_by_ref();
        } else {
            self.no_tasks_waker.set(Some(waker.clone()));
        }
    }

    /// Drops every task's future (rule 2), repeating while drops spawn new tasks. After
    /// `SHUTDOWN_ROUNDS` rounds that each found new tasks, spawns are refused (rule 4), so this
    /// always ends with the registry empty and no future left to drop without a runtime.
    pub(crate) fn shutdown(&self) {
        const SHUTDOWN_ROUNDS: u32 = 64;
        let mut rounds = 0;
        loop {
            let tasks: Vec<TaskRef> = self.registry.borrow_mut().drain();
            if tasks.is_empty() {
                break;
            }
            rounds += 1;
            if rounds >= SHUTDOWN_ROUNDS {
                self.refuse_spawns.set(true);
            }
            for task in tasks {
                let h = task.header();
                if h.state.get() & COMPLETE == 0 {
                    // `cancel` catches a panic of the future's drop and keeps it for the join.
                    task.cancel();
                    h.state.set(h.state.get() | COMPLETE);
                    if let Some(w) = h.take_join_waker() {
                        w.wake();
                    }
                }
            }
        }
        // One at a time: a drop that wakes a task finds the queue consistent (`run_queue`).
        while let Some(task) = self.run_queue.pop() {
            drop(task);
        }
    }

    /// Drops every task's future now, as [`shutdown`](Self::shutdown) does, and returns how
    /// many tasks were still running (a graceful shutdown's drain deadline).
    pub(crate) fn abort_all(&self) -> usize {
        let running = self.tasks_alive();
        self.shutdown();
        running
    }
}

/// A spawn refused during shutdown: the future is leaked (never polled, never dropped, so its
/// drop code cannot spawn again), and the handle reports a cancelled task.
#[cold]
fn refused<F>(
    shared: &Arc<remote::Shared>,
    future: F,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    std::mem::forget(future);
    let task = TaskRef::new(
        std::future::pending::<F::Output>(),
        Site::new(shared.clone(), location),
        1,
        JOIN_INTEREST,
    );
    task.cancel();
    let h = task.header();
    h.state.set(h.state.get() | COMPLETE);
    JoinHandle::new(task)
}

impl TaskRef {
    /// A second handle to the same reference count slot: the caller has already counted it.
    fn clone_without_count(task: &TaskRef) -> TaskRef {
        // SAFETY: `TaskRef::new` was created with a count covering this handle.
        unsafe { TaskRef::from_raw(task.as_ptr()) }
    }
}

/// Queues a woken task: locally on its own thread, through the remote queue elsewhere.
pub(crate) fn schedule(task: TaskRef) {
    context::with_core_or(
        task,
        |core, task| {
            if Arc::ptr_eq(&core.shared, task.header().shared()) {
                core.sched.schedule_local(task);
            } else {
                task.header().shared().clone().push_remote(task);
            }
        },
        |task| task.header().shared().clone().push_remote(task),
    )
}

/// Spawns a `!Send` future on the current core and returns a handle to its output.
///
/// The task starts at the executor's next turn. Dropping the handle detaches the task.
///
/// # Panics
///
/// Panics if called outside a ringbolt runtime.
///
/// # Examples
///
/// ```
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let v = rt.block_on(async {
///     let h = ringbolt_runtime::spawn(async { 20 + 1 });
///     h.await.unwrap() * 2
/// });
/// assert_eq!(v, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_at(future, Location::caller())
}

/// [`spawn`] with the spawn location given (`spawn_on` passes its caller's).
pub(crate) fn spawn_at<F>(future: F, location: &'static Location<'static>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::with_core(|core| core.sched.spawn(&core.shared, future, location))
        .expect("ringbolt::spawn called outside a ringbolt runtime")
}

/// Yields to the executor once: other ready tasks run, then this one resumes.
///
/// # Examples
///
/// ```
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(ringbolt_runtime::task::yield_now());
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}
