//! `Builder`: ring size, cores, pinning; `launch` starts one runtime per core.

use crate::driver::DriverConfig;
use crate::executor::remote::CrossWake;
use crate::launch::{self, Plan};
use crate::runtime::Runtime;
use crate::shutdown::{CoreReport, Shutdown};
use crate::sync::CancellationToken;
use std::future::Future;
use std::io;
use std::time::Duration;

/// Configures and builds runtimes.
///
/// # Examples
///
/// ```
/// // One runtime on this thread with a 1024-entry submission queue.
/// let rt = ringbolt_runtime::Runtime::builder().entries(1024).build()?;
/// # drop(rt);
/// // One pinned runtime per core, each running the closure's future; results in core order.
/// let ids = ringbolt_runtime::Runtime::builder()
///     .cores(2)
///     .launch(|core| async move { core * 10 })?;
/// assert_eq!(ids, vec![0, 10]);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Placement
///
/// By default `launch` pins core *i* to the *i*-th CPU this process may run on (its
/// `taskset`/cgroup CPU set). Two ringbolt services started on one host therefore both pin
/// their core 0 to the same CPU and compete for it while other CPUs idle. Give each service
/// its own CPUs: [`cpus`](Self::cpus) names them, [`cpu_offset`](Self::cpu_offset) skips the
/// first allowed ones, or start each service under its own `taskset -c`.
///
/// ```
/// // A second service on this host: its cores start at the second allowed CPU.
/// let n = core_affinity::get_core_ids().map_or(0, |c| c.len());
/// # if n >= 2 {
/// let builder = ringbolt_runtime::Runtime::builder().cores(1).cpu_offset(1);
/// let cpu = builder.launch(|_| async {
///     // SAFETY: sched_getcpu takes no arguments.
///     unsafe { libc::sched_getcpu() }
/// })?;
/// let second = core_affinity::get_core_ids().unwrap()[1].id as i32;
/// assert_eq!(cpu, vec![second]);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    cfg: DriverConfig,
    cores: Option<usize>,
    pin: Option<bool>,
    cpus: Option<Vec<usize>>,
    cpu_offset: usize,
    blocking_threads_max: Option<usize>,
    blocking_idle: Option<Duration>,
    event_interval: usize,
    wake: CrossWake,
    drain: Duration,
    direct_files: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: 256 SQ entries, CQ twice that, one core per available CPU for `launch`.
    pub fn new() -> Builder {
        Builder {
            cfg: DriverConfig {
                entries: 256,
                cq_entries: None,
                inject_setup_errno: None,
                defer_taskrun: true,
                driver: crate::DriverKind::from_env().unwrap_or_default(),
                obs: Default::default(),
            },
            cores: None,
            pin: None,
            cpus: None,
            cpu_offset: 0,
            blocking_threads_max: None,
            blocking_idle: None,
            event_interval: 128,
            wake: CrossWake::default(),
            drain: Duration::from_secs(10),
            direct_files: 0,
        }
    }

    /// Submission queue entries (rounded up to a power of two by the kernel, clamped to its
    /// maximum). More entries mean fewer forced submissions under bursts; the runtime works
    /// with any size, even 2.
    pub fn entries(mut self, entries: u32) -> Builder {
        self.cfg.entries = entries.max(1);
        self
    }

    /// Completion queue entries (default: twice the SQ). Overflow never loses completions;
    /// a larger CQ only avoids the kernel's overflow backlog.
    pub fn cq_entries(mut self, entries: u32) -> Builder {
        self.cfg.cq_entries = Some(entries.max(1));
        self
    }

    /// How many tasks run between two looks at the ring and the timers (default 128). Lower
    /// values favour I/O latency, higher values throughput of compute-bound tasks.
    pub fn event_interval(mut self, polls: usize) -> Builder {
        self.event_interval = polls.max(1);
        self
    }

    /// Whether to ask for `IORING_SETUP_DEFER_TASKRUN` (default true; the runtime falls back
    /// on kernels without it anyway).
    pub fn defer_taskrun(mut self, on: bool) -> Builder {
        self.cfg.defer_taskrun = on;
        self
    }

    /// How other cores wake this one (default [`CrossWake::MsgRing`], eventfd where the
    /// kernel lacks `MSG_RING`).
    pub fn cross_wake(mut self, wake: CrossWake) -> Builder {
        self.wake = wake;
        self
    }

    /// Slots in each core's table of direct descriptors (default 0: no table), registered
    /// sparse when the ring is set up. Direct accepts
    /// ([`AcceptDirect`](crate::ops::net::AcceptDirect), `TcpListener::accept_direct` in
    /// `ringbolt-net`) put connections there instead of in the process fd table; they fail
    /// with `ENFILE` when the table is missing or full. Needs Linux 5.19; the size counts
    /// against `RLIMIT_NOFILE`.
    pub fn direct_files(mut self, slots: u32) -> Builder {
        self.direct_files = slots;
        self
    }

    /// Number of cores (threads, one runtime each) that [`Builder::launch`] starts.
    /// Default: the number of CPUs this process may run on.
    pub fn cores(mut self, n: usize) -> Builder {
        self.cores = Some(n.max(1));
        self
    }

    /// Whether `launch` pins thread *i* to the *i*-th allowed CPU (or to `cpus[i]`). Default:
    /// on when the cores (plus [`cpu_offset`](Self::cpu_offset)) fit on the available CPUs.
    pub fn pin_threads(mut self, pin: bool) -> Builder {
        self.pin = Some(pin);
        self
    }

    /// The CPUs `launch` pins its threads to, in core order (implies pinning). See
    /// [Placement](Self#placement).
    pub fn cpus(mut self, cpus: Vec<usize>) -> Builder {
        self.cpus = Some(cpus);
        self.pin = Some(true);
        self
    }

    /// Skips the first `offset` CPUs this process may run on: core *i* is pinned to the
    /// `(offset + i)`-th allowed CPU (default 0). Lets services on one host take disjoint CPUs
    /// (see [Placement](Self#placement)); ignored when [`cpus`](Self::cpus) names the CPUs.
    /// `launch` fails with `InvalidInput` when pinning is asked for and the cores do not fit
    /// after the offset.
    pub fn cpu_offset(mut self, offset: usize) -> Builder {
        self.cpu_offset = offset;
        self
    }

    /// The most threads the blocking pool ([`spawn_blocking`](crate::task::spawn_blocking),
    /// host-name lookups, directory listing) runs at once; further jobs queue. Default
    /// [`MAX_BLOCKING_THREADS`](crate::task::MAX_BLOCKING_THREADS), at least 1.
    ///
    /// The pool is shared by the whole process: the setting takes effect when this builder
    /// builds or launches a runtime, and a later builder's setting replaces it. Threads
    /// already running are not stopped; the pool just starts no new one above the limit.
    pub fn blocking_threads_max(mut self, n: usize) -> Builder {
        self.blocking_threads_max = Some(n);
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits. Default
    /// [`BLOCKING_IDLE`](crate::task::BLOCKING_IDLE). Process-wide, like
    /// [`blocking_threads_max`](Self::blocking_threads_max).
    pub fn blocking_idle(mut self, idle: Duration) -> Builder {
        self.blocking_idle = Some(idle);
        self
    }

    /// How long [`launch_with_shutdown`](Builder::launch_with_shutdown) lets futures and tasks
    /// finish once the shutdown is triggered, before it aborts them (default 10 s). Keep it
    /// below the service manager's stop timeout (systemd `TimeoutStopSec`, 90 s by default;
    /// Kubernetes `terminationGracePeriodSeconds`, 30 s; `docker stop`, 10 s).
    pub fn drain_timeout(mut self, drain: Duration) -> Builder {
        self.drain = drain;
        self
    }

    /// The stall threshold (default [`DEFAULT_STALL_THRESHOLD`](crate::stall::DEFAULT_STALL_THRESHOLD),
    /// 10 ms); `None` turns stall detection off.
    ///
    /// A task poll longer than this, or a loop turn whose tasks together ran longer, is
    /// reported with the core, the task's spawn location and the duration (see
    /// [`stall`](crate::stall)): to the [`on_stall`](Self::on_stall) callback if set,
    /// otherwise as a `tracing` warning (`tracing` feature) or a line on stderr (at most one
    /// per second). Detection reads a cheap clock (the TSC on x86_64) once per task poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = ringbolt_runtime::Runtime::builder()
    ///     .stall_threshold(Duration::from_millis(50))
    ///     .build()?;
    /// let off = ringbolt_runtime::Runtime::builder().stall_threshold(None).build()?;
    /// # drop((rt, off));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stall_threshold(mut self, threshold: impl Into<Option<Duration>>) -> Builder {
        self.cfg.obs.stall_threshold = threshold.into();
        self
    }

    /// Sends every stall report to `hook` instead of the default report (a `tracing` warning
    /// or a rate-limited line on stderr). The hook runs on the stalled core, right after the
    /// stall; keep it short. A panic in it is caught and ignored.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let sink = reports.clone();
    /// let rt = ringbolt_runtime::Runtime::builder()
    ///     .on_stall(move |r| sink.lock().unwrap().push(r.clone()))
    ///     .build()?;
    /// rt.block_on(async {
    ///     let h = ringbolt_runtime::spawn(async {
    ///         std::thread::sleep(Duration::from_millis(30)); // blocks the core: a stall
    ///     });
    ///     h.await.unwrap();
    /// });
    /// let reports = reports.lock().unwrap();
    /// assert_eq!(reports.len(), 1);
    /// assert_eq!(reports[0].location.file(), file!());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_stall(
        mut self,
        hook: impl Fn(&crate::stall::StallReport) + Send + Sync + 'static,
    ) -> Builder {
        self.cfg.obs.on_stall = Some(std::sync::Arc::new(hook));
        self
    }

    /// Whether the runtimes keep metrics for [`metrics::render`](crate::metrics::render)
    /// (default off). On: histograms of poll duration and loop turn busy time (one cheap clock
    /// read per poll, shared with stall detection), SQEs per enter and CQEs per turn, and the
    /// [`Stats`](crate::Stats) counters, published before a core sleeps and every 32nd busy
    /// loop turn.
    pub fn metrics(mut self, on: bool) -> Builder {
        self.cfg.obs.metrics = on;
        self
    }

    /// Which driver carries the I/O: [`DriverKind::Auto`](crate::DriverKind::Auto) (the
    /// default: io_uring, or the epoll fallback where io_uring is forbidden or missing),
    /// [`DriverKind::IoUring`](crate::DriverKind::IoUring) (fail where it is unavailable) or
    /// [`DriverKind::Epoll`](crate::DriverKind::Epoll). Wins over the `RINGBOLT_DRIVER`
    /// environment variable. See `docs/drivers.md` for what differs on epoll.
    ///
    /// ```
    /// use ringbolt_runtime::{DriverKind, Runtime};
    ///
    /// // A service that must not silently lose io_uring's file I/O:
    /// match Runtime::builder().driver(DriverKind::IoUring).build() {
    ///     Ok(rt) => rt.block_on(async { /* ... */ }),
    ///     Err(e) => eprintln!("{e}"), // names the cause (seccomp, sysctl, kernel) and the fix
    /// }
    /// ```
    pub fn driver(mut self, kind: crate::DriverKind) -> Builder {
        self.cfg.driver = kind;
        self
    }

    /// Test hook: make ring setup fail with this errno, to check how callers report an
    /// environment without io_uring.
    #[doc(hidden)]
    pub fn inject_setup_error(mut self, errno: i32) -> Builder {
        self.cfg.inject_setup_errno = Some(errno);
        self
    }

    /// Builds a runtime on the current thread (core id 0).
    ///
    /// # Errors
    ///
    /// Fails when io_uring cannot be set up; the message names the cause and the fix.
    pub fn build(&self) -> io::Result<Runtime> {
        crate::executor::blocking::configure(self.blocking_threads_max, self.blocking_idle);
        Runtime::with_config(
            0,
            &self.cfg,
            self.event_interval,
            self.wake,
            self.direct_files,
            None,
        )
    }

    /// Starts one thread per core, pins it, builds its runtime, runs `f(core_id)` on it with
    /// [`Runtime::block_on`], and returns every core's output in core order once all finished.
    ///
    /// A core whose future is done keeps serving the others (jobs from `spawn_on`, tasks it
    /// still runs, wakes) until every core's future is done; then the tasks still running are
    /// dropped and all runtimes shut down. For a service that stops on a signal and drains its
    /// tasks first, use [`launch_with_shutdown`](Builder::launch_with_shutdown).
    ///
    /// # Errors
    ///
    /// Fails fast: the first core whose runtime could not be built or whose future panicked
    /// (the error says which core and why) stops the other cores at once (their futures and
    /// tasks are dropped) and is returned. Also a failure to start or pin a thread.
    pub fn launch<F, Fut>(&self, f: F) -> io::Result<Vec<Fut::Output>>
    where
        F: Fn(usize) -> Fut + Sync,
        Fut: Future,
        Fut::Output: Send,
    {
        crate::executor::blocking::configure(self.blocking_threads_max, self.blocking_idle);
        let plan = self.plan()?;
        let mut outcomes = launch::run(
            &plan,
            &Shutdown::new(),
            Duration::ZERO,
            |core, _| f(core),
            |_| false,
        )?;
        if let Some(e) = outcomes.take_failure() {
            return Err(e);
        }
        outcomes
            .cores
            .into_iter()
            .enumerate()
            .map(|(core, o)| match (o.output, o.failure) {
                (Some(v), _) => Ok(v),
                (None, Some(e)) => Err(e),
                (None, None) => Err(io::Error::other(format!(
                    "core {core}: its future was stopped before it finished"
                ))),
            })
            .collect()
    }

    /// Like [`launch`](Builder::launch), for a service: runs `f(core_id, token)` on every core
    /// until `shutdown` is triggered, lets it drain, and reports per core its output and how
    /// many tasks drained and how many were aborted.
    ///
    /// `token` is a [`CancellationToken`] of the core, cancelled when the shutdown starts: the
    /// future and its tasks select on `token.cancelled()` to stop accepting and finish the
    /// work in hand. The shutdown starts when `shutdown` is triggered (from any thread, core or
    /// signal: see [`Shutdown::trigger_on`]), when a core fails, or when every core's future
    /// has returned. Then each core waits for its future and all its tasks to finish, at most
    /// until the drain deadline ([`drain_timeout`](Builder::drain_timeout) after the trigger),
    /// and aborts what is left. See the [`shutdown`](crate::shutdown) module.
    ///
    /// # Errors
    ///
    /// Fails fast: the first core that could not start, whose future panicked or returned an
    /// error triggers the shutdown; its error (naming the core) is returned once the other
    /// cores have drained, at the latest after the drain deadline. Also a failure to start or
    /// pin a thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbolt_runtime::shutdown::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// let stopper = shutdown.clone();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(50));
    ///     stopper.trigger(); // e.g. from a control thread
    /// });
    /// let reports = ringbolt_runtime::Runtime::builder()
    ///     .cores(2)
    ///     .drain_timeout(Duration::from_secs(5))
    ///     .launch_with_shutdown(&shutdown, |core, token| async move {
    ///         // A task that finishes its work once told to stop.
    ///         ringbolt_runtime::spawn({
    ///             let token = token.clone();
    ///             async move { token.cancelled().await }
    ///         });
    ///         token.cancelled().await;
    ///         Ok(core)
    ///     })?;
    /// for r in &reports {
    ///     assert_eq!(r.output, Some(r.core));
    ///     assert_eq!((r.tasks_drained, r.tasks_aborted), (1, 0));
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn launch_with_shutdown<F, Fut, T>(
        &self,
        shutdown: &Shutdown,
        f: F,
    ) -> io::Result<Vec<CoreReport<T>>>
    where
        F: Fn(usize, CancellationToken) -> Fut + Sync,
        Fut: Future<Output = io::Result<T>>,
        T: Send,
    {
        crate::executor::blocking::configure(self.blocking_threads_max, self.blocking_idle);
        let plan = self.plan()?;
        let mut outcomes = launch::run(&plan, shutdown, self.drain, f, |r| r.is_err())?;
        if let Some(e) = outcomes.take_failure() {
            return Err(e);
        }
        if let Some(core) = outcomes.first_failed {
            if let Some(Err(e)) = outcomes.cores[core].output.take() {
                return Err(io::Error::new(e.kind(), format!("core {core}: {e}")));
            }
        }
        outcomes
            .cores
            .into_iter()
            .enumerate()
            .map(|(core, o)| {
                if let Some(e) = o.failure {
                    return Err(e);
                }
                Ok(CoreReport {
                    core,
                    output: o.output.transpose()?,
                    tasks_drained: o.drained,
                    tasks_aborted: o.aborted,
                })
            })
            .collect()
    }

    /// Resolves the number of cores and their CPUs for `launch`.
    fn plan(&self) -> io::Result<Plan> {
        let available = core_affinity::get_core_ids().unwrap_or_default();
        let n = self.cores.unwrap_or_else(|| available.len().max(1));
        let offset = if self.cpus.is_some() {
            0
        } else {
            self.cpu_offset
        };
        let pin = self
            .pin
            .unwrap_or(n.saturating_add(offset) <= available.len());
        let cpus: Vec<usize> = match &self.cpus {
            Some(c) => c.clone(),
            // The CPUs this process may run on (taskset, cgroup cpusets), in order.
            None => available
                .iter()
                .map(|c| c.id)
                .skip(offset)
                .take(n)
                .collect(),
        };
        if pin && cpus.len() < n {
            let after = if offset > 0 {
                format!(" after skipping {offset} (cpu_offset)")
            } else {
                String::new()
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{n} cores asked for but only {} CPUs to pin to{after}: ask for fewer cores, \
                     a smaller offset, or turn pinning off",
                    cpus.len()
                ),
            ));
        }
        Ok(Plan {
            cores: n,
            cpus: pin.then_some(cpus),
            cfg: self.cfg.clone(),
            event_interval: self.event_interval,
            wake: self.wake,
            direct_files: self.direct_files,
        })
    }
}
