//! `Builder`: ring size, cores, pinning; `launch` starts one runtime per core.

use crate::driver::DriverConfig;
use crate::executor::remote::{CrossWake, Shared};
use crate::runtime::Runtime;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
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
            },
            cores: None,
            pin: None,
            cpus: None,
            cpu_offset: 0,
            blocking_threads_max: None,
            blocking_idle: None,
            event_interval: 128,
            wake: CrossWake::default(),
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
        Runtime::with_config(0, &self.cfg, self.event_interval, self.wake, None)
    }

    /// Starts one thread per core, pins it, builds its runtime, runs `f(core_id)` on it with
    /// [`Runtime::block_on`], and returns every core's output in core order once all finished.
    ///
    /// A core whose future is done keeps serving the others (jobs from `spawn_on`, tasks it
    /// still runs, wakes) until every core's future is done; then all runtimes shut down.
    ///
    /// # Errors
    ///
    /// The first core whose runtime could not be built or whose future panicked (the error
    /// says which core and why), or a failure to start or pin a thread.
    pub fn launch<F, Fut>(&self, f: F) -> io::Result<Vec<Fut::Output>>
    where
        F: Fn(usize) -> Fut + Sync,
        Fut: Future,
        Fut::Output: Send,
    {
        crate::executor::blocking::configure(self.blocking_threads_max, self.blocking_idle);
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
        let mesh: Vec<Arc<Shared>> = (0..n)
            .map(|_| Shared::new().map(Arc::new))
            .collect::<io::Result<_>>()?;
        let mesh = Arc::new(mesh);
        let finished = &std::sync::atomic::AtomicUsize::new(0);
        let f = &f;
        std::thread::scope(|scope| {
            let mut handles = Vec::with_capacity(n);
            for core in 0..n {
                let cpu = cpus.get(core).copied();
                let cfg = self.cfg.clone();
                let interval = self.event_interval;
                let wake = self.wake;
                let core_mesh = mesh.clone();
                let h = std::thread::Builder::new()
                    .name(format!("ringbolt-core-{core}"))
                    .spawn_scoped(scope, move || -> io::Result<Fut::Output> {
                        // Counts this core as done on every exit path, so a core that fails
                        // to start never leaves the others waiting.
                        let mut done = Done {
                            finished,
                            n,
                            mesh: &core_mesh[..],
                            marked: false,
                        };
                        if pin {
                            let cpu = cpu.unwrap_or(core);
                            if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
                                return Err(io::Error::other(format!(
                                    "core {core}: could not pin the thread to CPU {cpu} (is it in this process's CPU set?)"
                                )));
                            }
                        }
                        let rt = Runtime::with_config(core, &cfg, interval, wake, Some(core_mesh.clone()))
                            .map_err(|e| io::Error::new(e.kind(), format!("core {core}: {e}")))?;
                        let out = catch_unwind(AssertUnwindSafe(|| rt.block_on(f(core))));
                        // Keep serving the other cores (spawn_on, channels, wakes) until every
                        // core's future is done; then all runtimes shut down together.
                        done.mark();
                        // The last core to finish wakes every core's block_on (Done::mark), so
                        // this parks in io_uring_enter instead of polling a timer.
                        rt.block_on(std::future::poll_fn(|_| {
                            if finished.load(std::sync::atomic::Ordering::Acquire) >= n {
                                std::task::Poll::Ready(())
                            } else {
                                std::task::Poll::Pending
                            }
                        }));
                        drop(rt);
                        out.map_err(|p| {
                            let msg = p
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| p.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "non-string panic payload".into());
                            io::Error::other(format!("core {core} panicked: {msg}"))
                        })
                    });
                match h {
                    Ok(h) => handles.push(h),
                    Err(e) => {
                        // The cores not started count as done, so started ones can finish.
                        arrive(finished, n, &mesh[..], n - core);
                        for h in handles {
                            let _ = h.join();
                        }
                        return Err(e);
                    }
                }
            }
            let mut results = Vec::with_capacity(n);
            let mut first_err = None;
            for h in handles {
                match h.join() {
                    Ok(Ok(v)) => results.push(v),
                    Ok(Err(e)) => {
                        first_err.get_or_insert(e);
                    }
                    Err(_) => {
                        first_err.get_or_insert(io::Error::other("a core thread panicked"));
                    }
                }
            }
            match first_err {
                Some(e) => Err(e),
                None => Ok(results),
            }
        })
    }
}

/// Counts `k` more cores as done; the arrival that completes the count wakes every core's
/// `block_on` (through the remote-wake path), so the waiting cores see it at once.
fn arrive(finished: &std::sync::atomic::AtomicUsize, n: usize, mesh: &[Arc<Shared>], k: usize) {
    let before = finished.fetch_add(k, std::sync::atomic::Ordering::AcqRel);
    if before < n && before + k >= n {
        for shared in mesh {
            shared.wake_main();
        }
    }
}

/// Marks a launched core as done (once), at the latest when dropped.
struct Done<'a> {
    finished: &'a std::sync::atomic::AtomicUsize,
    n: usize,
    mesh: &'a [Arc<Shared>],
    marked: bool,
}

impl Done<'_> {
    fn mark(&mut self) {
        if !self.marked {
            self.marked = true;
            arrive(self.finished, self.n, self.mesh, 1);
        }
    }
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.mark();
    }
}
