//! What other threads may touch of a runtime: its remote wake queue and its wake eventfd.
//!
//! Rules:
//! 1. A remote wake pushes the task onto `queue` and then signals the ring at most once per
//!    batch: the first push after the owner drained the queue flips `pending` and writes the
//!    eventfd (whose read is kept armed in the ring); later pushes see `pending` set and only
//!    enqueue.
//! 2. The owner clears `pending` *before* draining, so a push racing with the drain either is
//!    drained now or signals again.
//! 3. After the runtime shut down, `closed` is set and a remote wake just drops its reference:
//!    waking a dead runtime is a harmless no-op.
//! 4. A wake is never held hostage by the waker's loop (pitfall 16): a `MSG_RING` wake is
//!    submitted to the kernel at once (its own `io_uring_enter`), not queued until the waker's
//!    next turn, because `pending` silences every other waker meanwhile.
//! 5. The target's ring fd is read and the `MSG_RING` submitted under the queue lock, and the
//!    owner clears it (under the same lock) before its ring closes: the fd number in the SQE is
//!    never stale. A `MSG_RING` that fails (its CQE carries an error) writes the eventfd instead.

use super::task::TaskRef;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard};
use std::{io, mem};

/// Work another thread sends to this core: it runs on the core's thread (see `spawn_on`).
pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Queue {
    tasks: Vec<TaskRef>,
    jobs: Vec<Job>,
    closed: bool,
    /// The owner's ring fd while its ring is open, -1 otherwise: the MSG_RING target (rule 5).
    ring_fd: i32,
}

/// How another core rings this one: by `IORING_OP_MSG_RING` from its own ring, or by a write
/// to this core's eventfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CrossWake {
    /// `IORING_OP_MSG_RING` (Linux 5.18+) when the waker runs on another ringbolt core and the
    /// kernel has the opcode; the eventfd otherwise. The default: measured faster here (see
    /// the README's cross-core table).
    #[default]
    MsgRing,
    /// Always write the target core's eventfd.
    Eventfd,
}

/// The thread-safe part of a runtime.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    pending: AtomicBool,
    /// The `block_on` future was woken.
    pub(crate) main_woken: AtomicBool,
    eventfd: OwnedFd,
    /// 0: MSG_RING allowed, 1: eventfd only.
    wake_mode: AtomicU8,
}

impl Shared {
    pub(crate) fn new() -> io::Result<Shared> {
        // SAFETY: eventfd(2) with valid flags; the result is checked below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Shared {
            queue: Mutex::new(Queue {
                tasks: Vec::new(),
                jobs: Vec::new(),
                closed: false,
                ring_fd: -1,
            }),
            pending: AtomicBool::new(false),
            main_woken: AtomicBool::new(true),
            // SAFETY: fd is a fresh eventfd we own.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
            wake_mode: AtomicU8::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue holds no invariant a panic could break half-way.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn eventfd(&self) -> i32 {
        self.eventfd.as_raw_fd()
    }

    /// Wakes a task from another thread (rule 1).
    pub(crate) fn push_remote(self: &Arc<Self>, task: TaskRef) {
        let mut q = self.lock();
        if q.closed {
            drop(q);
            drop(task);
            return;
        }
        q.tasks.push(task);
        drop(q);
        self.notify();
    }

    /// Queues a job to run on the owner's thread; gives it back if the runtime is gone.
    pub(crate) fn push_job(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        let mut q = self.lock();
        if q.closed {
            return Err(job);
        }
        q.jobs.push(job);
        drop(q);
        self.notify();
        Ok(())
    }

    /// Records the owner's ring (MSG_RING target) and the wake mode.
    pub(crate) fn set_ring(&self, ring_fd: i32, mode: CrossWake) {
        self.wake_mode
            .store((mode == CrossWake::Eventfd) as u8, Ordering::Relaxed);
        self.lock().ring_fd = ring_fd;
    }

    /// Makes the owner's ring return from its wait (at most once per batch; rules 1, 4, 5).
    pub(crate) fn notify(self: &Arc<Self>) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.wake_mode.load(Ordering::Relaxed) == 0 {
            let q = self.lock();
            // Held across the submission: the owner cannot close its ring meanwhile (rule 5).
            if q.ring_fd >= 0 && crate::driver::current::msg_ring_wake(q.ring_fd, self) {
                return;
            }
        }
        self.signal_eventfd();
    }

    /// Writes the owner's eventfd, whose read is kept armed in its ring.
    pub(crate) fn signal_eventfd(&self) {
        let one: u64 = 1;
        // A failure (the counter cannot overflow in practice) only loses a wake the owner also
        // finds via `pending` at its next turn.
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.eventfd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Wakes the owner's `block_on` future from any thread.
    pub(crate) fn wake_main(self: &Arc<Self>) {
        self.main_woken.store(true, Ordering::Release);
        self.notify();
    }

    /// Whether remote work may be waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the remotely woken tasks and the jobs sent to this core (rule 2).
    pub(crate) fn take(&self, tasks: &mut Vec<TaskRef>, jobs: &mut Vec<Job>) {
        self.pending.store(false, Ordering::SeqCst);
        let mut q = self.lock();
        mem::swap(&mut q.tasks, tasks);
        mem::swap(&mut q.jobs, jobs);
    }

    /// Refuses further remote wakes and drops the queued ones (rule 3).
    pub(crate) fn close(&self) {
        let (tasks, jobs) = {
            let mut q = self.lock();
            q.ring_fd = -1;
            q.closed = true;
            (mem::take(&mut q.tasks), mem::take(&mut q.jobs))
        };
        drop(tasks);
        drop(jobs);
    }
}
