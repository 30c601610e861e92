//! The per-core reader: one task per core that has listeners, keeping one read of the
//! process's signalfd in flight on the core's ring.
//!
//! Rules:
//! 1. A core has a reader while it has at least one listener; the last listener to go wakes
//!    the reader, which drops its read and ends, so it never holds up a drain.
//! 2. A read cancelled while the kernel was completing it may still carry signals: the op's
//!    `release` dispatches them, so no signal is lost to a cancellation.
//! 3. Whichever core's read gets a signal dispatches it to every listener in the process.

use super::registry;
use crate::context;
use crate::driver::{CqeResult, Op, OpCode, SharedFd};
use io_uring::{opcode, squeue::Entry, types};
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

/// Size of `struct signalfd_siginfo`.
const SIGINFO_LEN: usize = 128;
/// Signals taken per read.
const BATCH: usize = 8;

/// A core's reader, shared by the core's listeners.
pub(crate) struct CoreReader {
    /// The core's identity (its remote-wake state's address).
    core: usize,
    listeners: Cell<usize>,
    waker: Cell<Option<Waker>>,
    alive: Cell<bool>,
}

impl CoreReader {
    /// Whether the reader task still runs (it ends when its runtime drops it).
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.get()
    }
}

thread_local! {
    /// The readers of the runtimes on this thread (usually one).
    static READERS: RefCell<Vec<Rc<CoreReader>>> = const { RefCell::new(Vec::new()) };
}

/// The current core's identity (its remote-wake state's address).
///
/// # Errors
///
/// Outside a runtime.
pub(crate) fn current_core() -> io::Result<usize> {
    context::with_core(|c| Arc::as_ptr(&c.shared) as usize).ok_or_else(|| {
        io::Error::other(
            "ringbolt: signals are received on a ringbolt core: create the listener inside \
             Runtime::block_on or a task",
        )
    })
}

/// Counts a new listener on the current core, starting the core's reader if it has none.
pub(crate) fn attach() -> io::Result<Rc<CoreReader>> {
    let core = current_core()?;
    READERS.with(|r| {
        let mut readers = r.borrow_mut();
        readers.retain(|c| c.alive.get());
        if let Some(reader) = readers.iter().find(|c| c.core == core) {
            reader.listeners.set(reader.listeners.get() + 1);
            return Ok(reader.clone());
        }
        let fd = SharedFd::new(registry::dup_fd()?);
        let reader = Rc::new(CoreReader {
            core,
            listeners: Cell::new(1),
            waker: Cell::new(None),
            alive: Cell::new(true),
        });
        readers.push(reader.clone());
        crate::spawn(read_loop(reader.clone(), fd));
        Ok(reader)
    })
}

/// Counts a listener gone (rule 1).
pub(crate) fn detach(reader: &CoreReader) {
    let n = reader.listeners.get().saturating_sub(1);
    reader.listeners.set(n);
    if n == 0 {
        if let Some(w) = reader.waker.take() {
            w.wake();
        }
    }
}

/// Marks the reader dead when its task ends or is dropped.
struct Exit(Rc<CoreReader>);

impl Drop for Exit {
    fn drop(&mut self) {
        self.0.alive.set(false);
        // The thread may be exiting (its locals going away): then there is nothing to tidy.
        let _ = READERS.try_with(|r| {
            if let Ok(mut readers) = r.try_borrow_mut() {
                readers.retain(|c| !Rc::ptr_eq(c, &self.0));
            }
        });
    }
}

async fn read_loop(reader: Rc<CoreReader>, fd: SharedFd) {
    let _exit = Exit(reader.clone());
    if let Err(e) = registry::block_registered_in_this_thread() {
        registry::fail(e.raw_os_error().unwrap_or(libc::EINVAL));
        return;
    }
    let mut eagain = 0u32;
    loop {
        let mut read = pin!(SignalRead::op(&fd));
        let res = poll_fn(|cx| {
            if reader.listeners.get() == 0 {
                return Poll::Ready(None);
            }
            reader.waker.set(Some(cx.waker().clone()));
            read.as_mut().poll(cx).map(Some)
        })
        .await;
        match res {
            // Rule 1: the read is dropped (cancelled) here; rule 2 covers a late completion.
            None => return,
            Some(Ok(signals)) => {
                eagain = 0;
                for signo in signals {
                    registry::dispatch(signo);
                }
            }
            Some(Err(e)) if e.raw_os_error() == Some(libc::EINTR) => {}
            Some(Err(e)) if e.raw_os_error() == Some(libc::EAGAIN) => {
                // The ring waits for readiness itself and should never hand back EAGAIN; if a
                // kernel does, do not spin on it.
                eagain += 1;
                if eagain > 3 {
                    crate::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Some(Err(e)) => {
                registry::fail(e.raw_os_error().unwrap_or(libc::EIO));
                return;
            }
        }
    }
}

/// `IORING_OP_READ` of whole `signalfd_siginfo` records into a buffer inside the op.
struct SignalRead {
    fd: SharedFd,
    buf: [u8; SIGINFO_LEN * BATCH],
}

impl SignalRead {
    fn op(fd: &SharedFd) -> Op<SignalRead> {
        Op::new(SignalRead {
            fd: fd.clone(),
            buf: [0; SIGINFO_LEN * BATCH],
        })
    }

    /// The signal numbers of the `n` bytes read.
    fn signals(&self, n: usize) -> Vec<i32> {
        self.buf[..n.min(self.buf.len())]
            .chunks_exact(SIGINFO_LEN)
            .map(|rec| {
                // `ssi_signo`, the record's first field, a native-endian u32.
                let signo = u32::from_ne_bytes([rec[0], rec[1], rec[2], rec[3]]);
                signo as i32
            })
            .collect()
    }
}

// SAFETY: the SQE points into `self.buf`, a field of the op state that the driver keeps boxed
// and unmoved until the final CQE; the fd stays open because the op holds a SharedFd clone.
unsafe impl OpCode for SignalRead {
    type Output = io::Result<Vec<i32>>;

    fn build(&mut self) -> Entry {
        let len = self.buf.len() as u32;
        opcode::Read::new(types::Fd(self.fd.raw()), self.buf.as_mut_ptr(), len)
            .offset(u64::MAX)
            .build()
    }

    fn complete(self, cqe: CqeResult) -> io::Result<Vec<i32>> {
        let n = cqe.result?;
        Ok(self.signals(n as usize))
    }

    /// Rule 2.
    fn release(self, cqe: CqeResult) {
        if let Ok(signals) = self.complete(cqe) {
            for signo in signals {
                registry::dispatch(signo);
            }
        }
    }
}
