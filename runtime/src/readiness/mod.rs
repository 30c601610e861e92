//! Readiness-style I/O on the core's own ring: wait with `IORING_OP_POLL_ADD`, then do a
//! non-blocking `recv`/`send` straight into the caller's buffer.
//!
//! This is what poll-style traits (`tokio::io::AsyncRead`, `futures_io::AsyncRead`,
//! `hyper::rt::Read`) need: they lend a buffer only for the length of one `poll_*` call, so an
//! owned-buffer op cannot use it. Instead of a second event loop, a nested epoll fd or a copy
//! through a buffer of our own, a [`Readiness`] arms a multishot `POLL_ADD` on the ring that
//! already carries the core's other I/O, and the data moves with one plain syscall.
//!
//! Rules:
//! 1. A [`Readiness`] starts *ready*: the first read or write just tries the syscall, and only
//!    `EAGAIN` arms a poll. A socket that always has data never touches the ring.
//! 2. Readiness is cleared only by the caller ([`Readiness::clear_ready`]), and only after the
//!    syscall said `EAGAIN` (pitfall 18: a multishot poll is edge-like, so readiness not drained
//!    is not reported again). Clearing it after a *short* read instead, trusting the armed poll
//!    to post on the next arrival, saves a `recv` per wait but lost wake-ups in a stress test
//!    (1 GiB transfers, three at once on a loaded machine), so ringbolt does not do it.
//! 3. Every event queued since the last wait is consumed by the next [`Readiness::poll_ready`];
//!    an event that raced with the syscall costs at most one spurious `EAGAIN`.
//! 4. A multishot poll ends (a CQE without `IORING_CQE_F_MORE`) on error or overflow: that final
//!    event counts as readiness and the next wait re-arms, so no wake is lost. A kernel without
//!    multishot poll (before 5.13) answers `EINVAL`, and the `Readiness` falls back to a
//!    single-shot poll re-armed per wait.
//! 5. **Cancellation.** Waiting holds no buffer and consumes no data: dropping a read or write
//!    future built on a `Readiness` loses no bytes, and the next read sees everything the
//!    socket holds. Dropping the `Readiness` cancels its poll; the op leaves the ring with its
//!    final CQE ([`crate::stats`]`().ops_in_flight` goes back down).
//!
//! A [`Readiness`] is bound to the core whose ring holds its poll:
//!
//! ```compile_fail
//! fn assert_send<T: Send>() {}
//! assert_send::<ringbolt_runtime::readiness::Readiness>();
//! ```

#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tokio-io")]
mod tokio;

use crate::driver::{MultiOp, Op, SharedFd};
use crate::ops::{PollAdd, PollMulti};
use std::future::Future;
use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

/// Which readiness a [`Readiness`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Data to read, end of stream, or an error (`POLLIN`).
    Readable,
    /// Room to write, or an error (`POLLOUT`).
    Writable,
}

impl Interest {
    fn mask(self) -> u32 {
        match self {
            Interest::Readable => libc::POLLIN as u32,
            Interest::Writable => libc::POLLOUT as u32,
        }
    }
}

/// The poll in flight for a [`Readiness`].
enum Armed {
    Multi(MultiOp<PollMulti>),
    Single(Op<PollAdd>),
}

/// One direction's readiness of one fd, tracked with a poll on the current core's ring.
///
/// `!Send`, like the fd's other ops: it belongs to the core whose ring holds its poll.
/// See the [module rules](self).
///
/// # Examples
///
/// A readiness-driven read into a borrowed buffer:
///
/// ```
/// use ringbolt_runtime::readiness::{Interest, Readiness};
/// use ringbolt_runtime::SharedFd;
/// use std::future::poll_fn;
/// use std::io::Write;
/// use std::os::fd::OwnedFd;
/// use std::task::Poll;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
///     let fd = SharedFd::new(OwnedFd::from(a));
///     let mut readable = Readiness::new(&fd, Interest::Readable);
///     b.write_all(b"hi")?;
///     let mut buf = [0u8; 16];
///     let n = poll_fn(|cx| loop {
///         if let Poll::Ready(Err(e)) = readable.poll_ready(cx) {
///             return Poll::Ready(Err(e));
///         }
///         if !readable.is_ready() {
///             return Poll::Pending;
///         }
///         match fd.recv_nonblocking(&mut buf) {
///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => readable.clear_ready(),
///             res => return Poll::Ready(res),
///         }
///     })
///     .await?;
///     assert_eq!(&buf[..n], b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Readiness {
    fd: SharedFd,
    interest: Interest,
    armed: Option<Armed>,
    ready: bool,
    single_shot: bool,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("fd", &self.fd)
            .field("interest", &self.interest)
            .field("ready", &self.ready)
            .field("armed", &self.armed.is_some())
            .finish()
    }
}

impl Readiness {
    /// Tracks `interest` on `fd`. Nothing is armed until a wait finds the fd not ready.
    pub fn new(fd: &SharedFd, interest: Interest) -> Readiness {
        Readiness {
            fd: fd.clone(),
            interest,
            armed: None,
            ready: true,
            single_shot: false,
        }
    }

    /// Whether the last wait (or the start) found the fd ready and nothing cleared it since.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Whether a poll is in flight on the ring for this readiness.
    pub fn is_armed(&self) -> bool {
        self.armed.is_some()
    }

    /// Marks the fd not ready: the syscall said `EAGAIN`. The next [`poll_ready`](Self::poll_ready)
    /// waits for a new event.
    pub fn clear_ready(&mut self) {
        self.ready = false;
    }

    /// Waits until the fd is ready, consuming every event queued since the last call.
    ///
    /// `Ready(Ok(()))` means "try the syscall"; it may still say `EAGAIN` (then call
    /// [`clear_ready`](Self::clear_ready) and wait again).
    ///
    /// # Errors
    ///
    /// The poll op's error (`ECANCELED` while the runtime shuts down, or a submission error).
    ///
    /// # Panics
    ///
    /// Panics outside a ringbolt runtime, or on a core other than the one that armed the poll.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.ready && self.armed.is_none() {
            return Poll::Ready(Ok(()));
        }
        // Bounded: every turn either consumes a queued event, ends a poll (and at most one
        // re-arm per call follows an end) or returns.
        let mut rearmed = false;
        loop {
            let mask = self.interest.mask();
            let armed = match &mut self.armed {
                Some(armed) => armed,
                None if self.ready || rearmed => {
                    // Ready already, or re-armed once in this call: report what we have.
                    return self.report();
                }
                None => {
                    rearmed = true;
                    self.armed.insert(if self.single_shot {
                        Armed::Single(PollAdd::op(&self.fd, mask))
                    } else {
                        Armed::Multi(PollMulti::op(&self.fd, mask))
                    })
                }
            };
            let event = match armed {
                Armed::Multi(op) => match op.poll_next(cx) {
                    Poll::Ready(Some(res)) => {
                        if op.is_terminated() {
                            self.armed = None;
                        }
                        Some(res)
                    }
                    Poll::Ready(None) => {
                        self.armed = None;
                        continue;
                    }
                    Poll::Pending => None,
                },
                Armed::Single(op) => match std::pin::Pin::new(op).poll(cx) {
                    Poll::Ready(res) => {
                        self.armed = None;
                        Some(res)
                    }
                    Poll::Pending => None,
                },
            };
            match event {
                None => return self.report(),
                Some(Ok(_revents)) => self.ready = true,
                Some(Err(e)) if e.raw_os_error() == Some(libc::EINVAL) && !self.single_shot => {
                    // No multishot poll on this kernel (< 5.13): single-shot from now on.
                    self.armed = None;
                    self.single_shot = true;
                    rearmed = false;
                }
                Some(Err(e)) => {
                    self.armed = None;
                    return Poll::Ready(Err(e));
                }
            }
        }
    }

    fn report(&self) -> Poll<io::Result<()>> {
        if self.ready {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

fn cvt(res: isize) -> io::Result<usize> {
    if res < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(res as usize)
    }
}

/// Runs a syscall again while it says `EINTR`.
fn retry(mut f: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        match cvt(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            res => return res,
        }
    }
}

/// Non-blocking syscalls on a socket, for readiness-style I/O. They never block the core:
/// `MSG_DONTWAIT` is set per call, so the fd itself stays blocking for io_uring ops.
impl SharedFd {
    /// One `recv(2)` with `MSG_DONTWAIT` into `buf`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when no data is queued (wait for [`Interest::Readable`]); otherwise
    /// `recv(2)`'s error. `Ok(0)` from a non-empty buffer is end of stream.
    pub fn recv_nonblocking(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        // SAFETY: `buf` is a valid, writable slice of `buf.len()` bytes for the whole call, and
        // the fd is open while `self` lives.
        retry(|| unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) })
    }

    /// One `send(2)` with `MSG_DONTWAIT | MSG_NOSIGNAL` from `buf`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the socket buffer is full (wait for [`Interest::Writable`]);
    /// otherwise `send(2)`'s error (`EPIPE`, `ECONNRESET`; never a `SIGPIPE`).
    pub fn send_nonblocking(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        // SAFETY: `buf` is a valid slice of `buf.len()` bytes for the whole call, and the fd is
        // open while `self` lives.
        retry(|| unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) })
    }

    /// One gathering `sendmsg(2)` with `MSG_DONTWAIT | MSG_NOSIGNAL` (at most `IOV_MAX`
    /// slices are sent per call).
    ///
    /// # Errors
    ///
    /// As [`send_nonblocking`](Self::send_nonblocking).
    pub fn send_vectored_nonblocking(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        let count = bufs.len().min(libc::UIO_MAXIOV as usize);
        // SAFETY: msghdr is a plain C struct for which all-zero bytes are valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix; the kernel only reads.
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = count as _;
        let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        // SAFETY: `msg` points at `count` valid iovecs borrowed from `bufs` for the whole call,
        // and the fd is open while `self` lives.
        retry(|| unsafe { libc::sendmsg(fd, &msg, flags) })
    }
}
