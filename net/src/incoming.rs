//! [`Incoming`]: a listener's stream of accepted connections, robust to fd exhaustion.

use crate::socket::Socket;
use ringbolt_runtime::ops::net::{Accept, AcceptMulti};
use ringbolt_runtime::MultiOp;
use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

/// First pause after a resource error (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`).
const BACKOFF_MIN: Duration = Duration::from_millis(1);
/// Longest pause between retries while resources stay short.
const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// The connections a listener accepts, one by one: see [`TcpListener::incoming`] and
/// [`UnixListener::incoming`].
///
/// Uses multishot accept when the kernel supports it (5.19+: one request, one completion per
/// connection) and single-shot accept otherwise.
///
/// - **Out of fds** (`EMFILE`, `ENFILE`) or memory (`ENOBUFS`, `ENOMEM`): the stream sleeps
///   (1 ms, doubling up to 100 ms) and retries, never spins and never yields the error; the
///   pending connections wait in the listen backlog. Other tasks keep running meanwhile.
/// - **A connection that failed before it was accepted** (`ECONNABORTED`, `EPROTO`, `EPERM`,
///   ...) is skipped.
/// - **Other errors** (the listener is broken: `EBADF`, `EINVAL`) are returned.
///
/// **Cancel-safe.** Dropping it (or a pending [`next`](Self::next)) cancels the accept in
/// flight, and nothing the kernel accepted is lost: an armed multishot accept may already have
/// taken several connections from the backlog, and they go back to the listener, where the
/// next `accept`, `incoming` or `next` hands them out first. So a fresh `incoming()` per
/// connection, or `next()` inside `select!`, is fine.
///
/// It borrows its listener, so the listener cannot be closed while it lives (closing waits
/// for every handle on the socket, and would otherwise wait for this one forever):
///
/// ```compile_fail,E0505
/// # async fn f(listener: ringbolt_net::TcpListener) -> std::io::Result<()> {
/// let mut incoming = listener.incoming();
/// let _first = incoming.next().await?;
/// listener.close().await?; // error: `listener` is still borrowed by `incoming`
/// let _second = incoming.next().await?;
/// # Ok(())
/// # }
/// ```
///
/// Drop it first: `drop(incoming); listener.close().await?;`.
///
/// [`TcpListener::incoming`]: crate::TcpListener::incoming
/// [`UnixListener::incoming`]: crate::UnixListener::incoming
pub struct Incoming<'a, S> {
    listener: &'a Socket,
    multi: Option<MultiOp<AcceptMulti>>,
    multishot: Option<bool>,
    backoff: Duration,
    resource_errors: u64,
    wrap: fn(Socket) -> S,
}

impl<S> std::fmt::Debug for Incoming<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", &self.listener)
            .field("multishot", &self.multishot)
            .field("resource_errors", &self.resource_errors)
            .finish()
    }
}

/// What to do after an accept error.
enum Verdict {
    /// Out of a resource: sleep, then retry.
    BackOff,
    /// This connection failed; take the next one.
    Skip,
    /// The listener itself is broken.
    Fail,
}

fn classify(e: &io::Error) -> Verdict {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => Verdict::BackOff,
        Some(
            libc::ECONNABORTED
            | libc::ECONNRESET
            | libc::EPROTO
            | libc::EPERM
            | libc::EINTR
            | libc::EAGAIN
            | libc::ECANCELED
            | libc::ETIMEDOUT
            | libc::ENETDOWN
            | libc::ENETUNREACH
            | libc::EHOSTDOWN
            | libc::EHOSTUNREACH
            | libc::ENONET
            | libc::ENOPROTOOPT
            | libc::EOPNOTSUPP,
        ) => Verdict::Skip,
        _ => Verdict::Fail,
    }
}

impl<'a, S> Incoming<'a, S> {
    pub(crate) fn new(listener: &'a Socket, wrap: fn(Socket) -> S) -> Incoming<'a, S> {
        Incoming {
            listener,
            multi: None,
            multishot: None,
            backoff: BACKOFF_MIN,
            resource_errors: 0,
            wrap,
        }
    }

    /// The next accepted connection.
    ///
    /// # Errors
    ///
    /// Only errors that mean the listener cannot accept any more (see the type's docs).
    pub async fn next(&mut self) -> io::Result<S> {
        loop {
            let res = self.accept_one().await;
            match res {
                Ok(fd) => {
                    self.backoff = BACKOFF_MIN;
                    return Ok((self.wrap)(Socket::from_fd(fd)));
                }
                Err(e) => match classify(&e) {
                    Verdict::BackOff => {
                        self.resource_errors += 1;
                        ringbolt_runtime::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                    }
                    Verdict::Skip => {}
                    Verdict::Fail => return Err(e),
                },
            }
        }
    }

    /// Test hook: accept with single-shot requests even where multishot accept exists.
    #[doc(hidden)]
    pub fn single_shot(mut self) -> Incoming<'a, S> {
        self.multishot = Some(false);
        self
    }

    /// How many times accepting failed for lack of fds or memory (each followed by a pause).
    pub fn resource_errors(&self) -> u64 {
        self.resource_errors
    }

    /// One accept attempt: a connection a dropped accept left on the listener, else through
    /// the multishot stream if the kernel has it.
    async fn accept_one(&mut self) -> io::Result<OwnedFd> {
        let carry = self.listener.carry();
        if !carry.is_quiet() {
            carry.settled().await;
            if let Some((fd, _)) = carry.take_conn() {
                return Ok(fd);
            }
        }
        let multishot = *self.multishot.get_or_insert_with(|| {
            ringbolt_runtime::is_supported(ringbolt_runtime::opcode::AcceptMulti::CODE)
        });
        if !multishot {
            return Accept::op(self.listener.shared_fd())
                .salvage(carry.clone())
                .await
                .map(|(fd, _)| fd);
        }
        loop {
            let multi = self.multi.get_or_insert_with(|| {
                AcceptMulti::op(self.listener.shared_fd()).salvage(carry.clone())
            });
            let item = multi.next().await;
            if multi.is_terminated() {
                // The kernel ended the stream (after an error, or a shortage): re-arm on the
                // next call.
                self.multi = None;
            }
            match item {
                Some(res) => return res,
                None => continue,
            }
        }
    }
}
