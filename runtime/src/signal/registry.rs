//! The process-wide part of signal handling: the signalfd, the set of signals ringbolt listens
//! to, the fallback handler, and the listeners a signal fans out to.
//!
//! Rules:
//! 1. One signalfd for the process, created with the first listener and never closed; its mask
//!    only grows. Per-core readers read duplicates of it (one open file, one mask).
//! 2. Before a signal kind joins the mask, the fallback handler is installed for it, so from
//!    then on its default action (terminating the process, for SIGTERM) never runs: a thread
//!    that has the signal unblocked runs the handler, which blocks it in that thread and sends
//!    it to the process again, where it stays pending until a reader takes it.
//! 3. Dispatch wakes every listener of the signal, after releasing the registry lock.

use slab::Slab;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

/// What one listener sees: whether its signal arrived since it last looked, a read error, and
/// its waker.
#[derive(Default)]
pub(crate) struct Slot {
    fired: AtomicBool,
    /// An errno from the reader that failed; 0 when none.
    error: AtomicI32,
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    fn waker(&self) -> MutexGuard<'_, Option<Waker>> {
        self.waker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a pending arrival (`Some(Ok)`), a reader error (`Some(Err)`), or registers `waker`
    /// and returns `None`.
    pub(crate) fn take_or_register(&self, waker: &Waker) -> Option<io::Result<()>> {
        if let Some(r) = self.take() {
            return Some(r);
        }
        {
            let mut w = self.waker();
            match &mut *w {
                Some(old) => old.clone_from(waker),
                slot => *slot = Some(waker.clone()),
            }
        }
        // A dispatch between the first look and the registration set the flag first.
        self.take()
    }

    fn take(&self) -> Option<io::Result<()>> {
        if self.fired.swap(false, Ordering::AcqRel) {
            return Some(Ok(()));
        }
        match self.error.load(Ordering::Acquire) {
            0 => None,
            errno => Some(Err(io::Error::new(
                io::Error::from_raw_os_error(errno).kind(),
                format!(
                    "ringbolt: reading the signalfd failed: {}; signals can no longer be \
                     received in this process",
                    io::Error::from_raw_os_error(errno)
                ),
            ))),
        }
    }
}

struct Registry {
    fd: Option<OwnedFd>,
    /// Bit `n - 1` set: signal `n` is in the signalfd's mask (rule 1).
    kinds: u64,
    listeners: Slab<(i32, Arc<Slot>)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    fd: None,
    kinds: 0,
    listeners: Slab::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    // The registry's fields are each updated in one step; a panic cannot leave them torn.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn bit(signo: i32) -> u64 {
    1u64 << (signo - 1)
}

/// A `sigset_t` holding the signals whose bits are set in `kinds`.
fn sigset(kinds: u64) -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is a valid value; sigemptyset then initialises it properly.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for signo in 1..=64 {
        if kinds & bit(signo) != 0 {
            // SAFETY: as above; signo is within 1..=64, a valid signal number on Linux.
            unsafe { libc::sigaddset(&mut set, signo) };
        }
    }
    set
}

/// Blocks the signals in `kinds` in the calling thread.
fn block(kinds: u64) -> io::Result<()> {
    let set = sigset(kinds);
    // SAFETY: `set` is an initialised sigset_t; the old mask is not asked for (null).
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Blocks every signal ringbolt listens to in the calling thread (a core starting to read).
pub(crate) fn block_registered_in_this_thread() -> io::Result<()> {
    let kinds = registry().kinds;
    block(kinds)
}

/// The fallback handler (rule 2). Async-signal-safe: it touches only the saved context and
/// calls `kill`/`getpid`.
extern "C" fn redirect(signo: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    let uc = ctx.cast::<libc::ucontext_t>();
    if !uc.is_null() {
        // SAFETY: with SA_SIGINFO the kernel passes a pointer to the interrupted context,
        // writable for the duration of the handler; the mask in it is restored on return, so
        // adding `signo` keeps the signal blocked in this thread from now on.
        unsafe { libc::sigaddset(&mut (*uc).uc_sigmask, signo) };
    }
    // Back to the process: it stays pending (this thread blocks it now) until a signalfd read.
    // SAFETY: kill and getpid are async-signal-safe and take plain integers.
    unsafe { libc::kill(libc::getpid(), signo) };
    // SAFETY: as above; restores errno for the interrupted code.
    unsafe { *libc::__errno_location() = errno };
}

fn install_handler(signo: i32) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is valid; the fields that matter are set below.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = redirect as *const () as libc::sighandler_t;
    sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `sa.sa_mask` is a valid, writable sigset_t.
    unsafe { libc::sigemptyset(&mut sa.sa_mask) };
    // SAFETY: `sa` is fully initialised and `redirect` has the SA_SIGINFO signature; the old
    // action is not asked for.
    if unsafe { libc::sigaction(signo, &sa, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Adds a listener for `signo` (rules 1 and 2) and blocks `signo` in the calling thread.
pub(crate) fn register(signo: i32) -> io::Result<(usize, Arc<Slot>)> {
    let mut reg = registry();
    if reg.kinds & bit(signo) == 0 {
        install_handler(signo)?;
        let kinds = reg.kinds | bit(signo);
        let set = sigset(kinds);
        let old = reg.fd.as_ref().map_or(-1, |fd| fd.as_raw_fd());
        // SAFETY: `set` is initialised; `old` is -1 or our own open signalfd.
        let fd = unsafe { libc::signalfd(old, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        if old < 0 {
            // SAFETY: a fresh fd from signalfd(2), owned by nobody else.
            reg.fd = Some(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        reg.kinds = kinds;
    }
    block(bit(signo))?;
    let slot = Arc::new(Slot::default());
    let key = reg.listeners.insert((signo, slot.clone()));
    Ok((key, slot))
}

/// Removes a listener.
pub(crate) fn unregister(key: usize) {
    let removed = registry().listeners.try_remove(key);
    drop(removed);
}

/// A new fd on the process's signalfd, for a core's reader.
pub(crate) fn dup_fd() -> io::Result<OwnedFd> {
    let reg = registry();
    match &reg.fd {
        Some(fd) => fd.as_fd().try_clone_to_owned(),
        None => Err(io::Error::other(
            "ringbolt: no signal is registered (internal error: a reader started first)",
        )),
    }
}

/// Wakes every listener of `signo` (rule 3).
pub(crate) fn dispatch(signo: i32) {
    let wakers: Vec<Waker> = {
        let reg = registry();
        reg.listeners
            .iter()
            .filter(|(_, (s, _))| *s == signo)
            .filter_map(|(_, (_, slot))| {
                slot.fired.store(true, Ordering::Release);
                slot.waker().take()
            })
            .collect()
    };
    for w in wakers {
        w.wake();
    }
}

/// Tells every listener that reading failed with `errno`.
pub(crate) fn fail(errno: i32) {
    let wakers: Vec<Waker> = {
        let reg = registry();
        reg.listeners
            .iter()
            .filter_map(|(_, (_, slot))| {
                slot.error.store(errno, Ordering::Release);
                slot.waker().take()
            })
            .collect()
    };
    for w in wakers {
        w.wake();
    }
}
