//! A file descriptor shared by the ops that name it, closed only after all of them completed.
//!
//! Rules:
//! 1. Every op that names an fd holds a [`SharedFd`] clone in its boxed state, so the fd stays
//!    open until that op's final CQE, even if the socket or file handle was dropped.
//! 2. The fd is closed exactly once: by [`SharedFd::close`] (through the ring, after every other
//!    holder is gone) or, failing that, by the drop of the last holder (a plain `close(2)`).
//! 3. The fd leaves (to another core) only through [`SharedFd::try_into_owned`], which
//!    succeeds only for the sole holder, so no op in flight can still name it.

use crate::driver::Op;
use crate::ops::nowait::InlineHint;
use crate::ops::Close;
use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Poll, Waker};

struct Inner {
    fd: RawFd,
    /// Set once the fd has been handed to a close op: the drop must not close it again.
    closed: Cell<bool>,
    /// The task waiting in `close()` for the other holders to go (boxed: one word in every
    /// fd, allocated only while a close waits).
    closer: Cell<Option<Box<Waker>>>,
    /// A `close()` is under way; a second one just lets go of its handle.
    closing: Cell<bool>,
    /// What inline attempts on this fd have shown (see `ops::nowait`).
    inline: Cell<InlineHint>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.get() {
            crate::driver::current::forget_fd(self.fd);
            // `fd` is owned by this Inner (taken from an OwnedFd) and was not closed:
            // `closed` is set only when ownership passed to a close op or out through
            // `try_into_owned`.
            // SAFETY: the invariants just stated hold here.
            unsafe { libc::close(self.fd) };
        }
    }
}

/// Names why a socket or file cannot move to another thread, in the compiler's `Send` error.
///
/// Never implemented; `SharedFd` holds a `PhantomData` of its trait object only so that moving a
/// `TcpStream` or `File` into `spawn_on` or `std::thread::spawn` reports
/// "`dyn OpenItOnTheCoreThatUsesIt` cannot be sent between threads safely" instead of naming
/// an internal `Rc`. The fix: pass what is needed to open it (an address, a path) and open it
/// inside the closure, or hand an idle connection over with `TcpStream::into_std` (built on
/// [`SharedFd::try_into_owned`]) and `TcpStream::from_std` on the other core.
pub trait OpenItOnTheCoreThatUsesIt {}

/// The `Rc` of a [`SharedFd`], claiming `Send` only so that the compiler's error for moving a
/// `SharedFd` (or a socket or file holding one) to another thread names
/// [`OpenItOnTheCoreThatUsesIt`] alone instead of this private `Rc`.
#[derive(Clone)]
struct Local(Rc<Inner>);

// SAFETY: a `Local` is only ever the field of a `SharedFd`, which stays `!Send` and `!Sync`
// through its `PhantomData<Box<dyn OpenItOnTheCoreThatUsesIt>>` marker, so no `Local` can cross a
// thread. The compile_fail doctest on `SharedFd` pins this.
unsafe impl Send for Local {}

impl std::ops::Deref for Local {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A reference-counted owned fd for ops on one core. `!Send`: it belongs to the ring of the
/// core that opened it.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::SharedFd>();
/// ```
///
/// ```compile_fail
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringbolt_runtime::SharedFd>();
/// ```
#[derive(Clone)]
pub struct SharedFd {
    // A `Box` of the trait object, not the bare `dyn`: it keeps `SharedFd` `Unpin` (a bare
    // `dyn` is `!Unpin`) while `!Send` and `!Sync` name the trait in the compiler's error.
    /// Sockets and files are bound to the ring of the core that opened them (this marker keeps
    /// `SharedFd` `!Send` and `!Sync`; see [`Local`]).
    _bound_to_its_core: PhantomData<Box<dyn OpenItOnTheCoreThatUsesIt>>,
    inner: Local,
}

// Sockets and files must stay `Unpin` (poll-style I/O takes `Pin<&mut Self>`).
const _: fn() = || {
    fn assert_unpin<T: Unpin>() {}
    assert_unpin::<SharedFd>();
};

impl std::fmt::Debug for SharedFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedFd").field(&self.inner.fd).finish()
    }
}

impl SharedFd {
    /// Takes ownership of an fd.
    pub fn new(fd: OwnedFd) -> SharedFd {
        SharedFd {
            _bound_to_its_core: PhantomData,
            inner: Local(Rc::new(Inner {
                fd: fd.into_raw_fd(),
                closed: Cell::new(false),
                closer: Cell::new(None),
                closing: Cell::new(false),
                inline: Cell::new(InlineHint::default()),
            })),
        }
    }

    /// The raw fd, for building SQEs and for socket options. Do not close it.
    pub fn raw(&self) -> RawFd {
        self.inner.fd
    }

    /// Whether reads and writes on this fd may first be tried at once with a system call that
    /// cannot block (`preadv2`/`pwritev2` with `RWF_NOWAIT`), and go to the ring only when
    /// that would block: the page-cache fast path for files, and the always-ready case for
    /// pipes and sockets. Applies to [`Read`](crate::ops::Read) and
    /// [`Write`](crate::ops::Write).
    ///
    /// On by default in both directions, adaptively: an fd whose attempts would block skips
    /// them for a while, one whose attempts fail otherwise (`EOPNOTSUPP`) stops, and one opened
    /// with `O_DIRECT` never attempts. Its flags and type are read once, at its first read or
    /// write, unless this was called: a socket is then tried with `recv`/`send` and
    /// `MSG_DONTWAIT`, and a pipe that is non-blocking (`O_NONBLOCK`) with `read`/`write`,
    /// both cheaper than the vectored calls. Keep such a pipe non-blocking (as tokio requires
    /// of its fds): made blocking afterwards, an attempt on it could block the thread.
    ///
    /// Call this when the open flags are known, to save that look-up (attempts then use
    /// `RWF_NOWAIT`), or with `false` to keep a direction on the ring. Enabling it on an
    /// `O_DIRECT` fd is not unsound, but its reads would then wait for the device. See
    /// `docs/fast_path.md`.
    pub fn set_inline_io(&self, reads: bool, writes: bool) {
        self.inner.inline.set(InlineHint::decided(reads, writes));
    }

    /// The inline-attempt hint, for the ops.
    pub(crate) fn inline_hint(&self) -> &Cell<InlineHint> {
        &self.inner.inline
    }

    /// Takes the fd back out if this is its only holder: no op in flight names it (not even
    /// an abandoned one waiting for its final CQE) and no other handle shares it. Otherwise
    /// gives `self` back unchanged.
    ///
    /// This is how a socket leaves its core: the returned [`OwnedFd`] is `Send`, and another
    /// core can wrap it in a new `SharedFd` for its own ring.
    ///
    /// # Errors
    ///
    /// `Err(self)` while other holders exist.
    pub fn try_into_owned(self) -> Result<OwnedFd, SharedFd> {
        if Rc::strong_count(&self.inner.0) != 1 || self.inner.closed.get() {
            return Err(self);
        }
        // Ownership leaves this SharedFd: mark it so the drop of Inner does not close it.
        self.inner.closed.set(true);
        let fd = self.inner.fd;
        crate::driver::current::forget_fd(fd);
        drop(self);
        // SAFETY: `fd` was owned by the only holder, which is gone, and `closed` was set so
        // its drop did not close it: nobody else uses or closes it from here.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Closes the fd through the ring once every other holder (in-flight ops, other handles)
    /// has gone, and reports the result of `close`.
    ///
    /// # Errors
    ///
    /// The error `close(2)` reports (for example `EIO` from a network filesystem).
    pub async fn close(self) -> io::Result<()> {
        if self.inner.closing.replace(true) {
            // Another handle is closing the fd already; it waits for this one to go.
            return Ok(());
        }
        poll_fn(|cx| {
            if Rc::strong_count(&self.inner.0) == 1 {
                Poll::Ready(())
            } else {
                let waker = match self.inner.closer.take() {
                    Some(mut w) => {
                        (*w).clone_from(cx.waker());
                        w
                    }
                    None => Box::new(cx.waker().clone()),
                };
                self.inner.closer.set(Some(waker));
                Poll::Pending
            }
        })
        .await;
        if !crate::driver::current::is_set() {
            // No ring here: the drop of the last holder closes the fd.
            return Ok(());
        }
        self.inner.closed.set(true);
        // SAFETY: this is the last holder and `closed` is now set, so nothing else will use or
        // close the fd; the close op owns it from here.
        let owned = unsafe { OwnedFd::from_raw_fd(self.inner.fd) };
        Op::new(Close::new(owned)).await
    }
}

impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd stays open while any SharedFd clone is alive (rule 2), and the borrow
        // cannot outlive `self`.
        unsafe { BorrowedFd::borrow_raw(self.inner.fd) }
    }
}

impl AsRawFd for SharedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.fd
    }
}

impl Drop for SharedFd {
    // Inline: every op drops a clone when it completes, and the hot path is one flag test.
    #[inline]
    fn drop(&mut self) {
        // (`closer` is set only once `closing` is: the flag alone is the hot path's look.)
        if self.inner.closing.get() {
            self.wake_closer();
        }
    }
}

impl SharedFd {
    /// The holder waiting in `close()` keeps one reference; wakes it when this drop leaves it
    /// the last.
    #[cold]
    fn wake_closer(&self) {
        if Rc::strong_count(&self.inner.0) == 2 {
            if let Some(w) = self.inner.closer.take() {
                (*w).wake();
            }
        }
    }
}
