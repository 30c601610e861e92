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

use super::task::TaskRef;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::{io, mem};

#[derive(Default)]
struct Queue {
    tasks: Vec<TaskRef>,
    closed: bool,
}

/// The thread-safe part of a runtime.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    pending: AtomicBool,
    /// The `block_on` future was woken.
    pub(crate) main_woken: AtomicBool,
    eventfd: OwnedFd,
}

impl Shared {
    pub(crate) fn new() -> io::Result<Shared> {
        // SAFETY: eventfd(2) with valid flags; the result is checked below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Shared {
            queue: Mutex::new(Queue::default()),
            pending: AtomicBool::new(false),
            main_woken: AtomicBool::new(true),
            // SAFETY: fd is a fresh eventfd we own.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
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
    pub(crate) fn push_remote(&self, task: TaskRef) {
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

    /// Makes the owner's ring return from its wait (at most once per batch).
    pub(crate) fn notify(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our eventfd. A failure (the counter
            // cannot overflow in practice) only loses a wake the owner also finds via `pending`
            // at its next turn.
            unsafe { libc::write(self.eventfd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Whether remote work may be waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the remotely woken tasks (rule 2).
    pub(crate) fn take(&self, into: &mut Vec<TaskRef>) {
        self.pending.store(false, Ordering::SeqCst);
        let mut q = self.lock();
        mem::swap(&mut q.tasks, into);
    }

    /// Refuses further remote wakes and drops the queued ones (rule 3).
    pub(crate) fn close(&self) {
        let tasks = {
            let mut q = self.lock();
            q.closed = true;
            mem::take(&mut q.tasks)
        };
        drop(tasks);
    }
}
