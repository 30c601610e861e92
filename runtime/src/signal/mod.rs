//! Unix signals, received through the core's io_uring: [`ctrl_c`] and [`unix::signal`].
//!
//! # How a signal reaches a task
//!
//! The process has one `signalfd` whose mask holds every signal kind ringbolt listens to.
//! Each core with at least one listener keeps one read of that signalfd in flight on its own
//! ring (an ordinary [`Op`](crate::Op)): no self-pipe, no handler doing the work, no polling. The
//! kernel hands each arrival to exactly one of those reads; the core that gets it wakes every
//! listener of that signal in the process. A listener on another core is woken through that
//! core's ring (the cross-core wake every `Waker` uses), and several listeners on one core
//! cost that core one wake.
//!
//! Why one reader per listening core rather than one reader for the whole process: a single
//! reader would need a hand-over protocol when its core stops listening or shuts down, or
//! else the other cores go deaf; with one read per listening core, a core that stops
//! listening just drops its read. The price is that an arrival also makes the other readers'
//! rings retry their reads inside the kernel (no completion, no task woken), which for
//! signals, that arrive a few times in a process's life, is nothing.
//!
//! # The signal mask
//!
//! A signalfd only sees a signal that no thread takes the ordinary way, so a signal ringbolt
//! listens to must be blocked in every thread of the process:
//!
//! 1. Creating a listener blocks its signal in the calling thread, and a core's reader blocks
//!    every listened-to signal in its thread. Threads started by
//!    [`Builder::launch`](crate::Builder::launch) and the blocking pool inherit the mask of
//!    the thread that started them, so creating the listeners (or the first one) before
//!    `launch` covers every ringbolt thread from the start.
//! 2. Other threads, the **main thread** included, keep their mask. So that such a thread
//!    never runs the signal's default action (SIGTERM terminates the process), ringbolt
//!    installs a tiny handler for each kind it listens to: it blocks the signal in the thread
//!    that caught it and sends it to the process again, where it waits for a reader. Each
//!    thread takes that detour at most once per kind.
//! 3. From the first listener on, a kind stays caught for the life of the process: one that
//!    arrives while nobody listens stays pending in the kernel and is delivered to the next
//!    listener (so a SIGTERM during start-up is not lost), and never runs the default action.
//! 4. A signal sent to one thread (`raise`, `pthread_kill`) rather than to the process is seen
//!    only by a read from that thread: send signals to the process (`kill`), as service
//!    managers do.
//! 5. Programs started with `std::process::Command` begin with an empty mask and default
//!    actions (std resets the mask before `exec`; `exec` resets handlers).
//!
//! # Coalescing
//!
//! As with any Unix signal, arrivals of one kind between two receives may merge into one
//! notification. A listener never misses the fact that its signal arrived after it was
//! created.

mod reader;
mod registry;

pub(crate) use reader::current_core;

/// Completes at the next Ctrl-C (SIGINT) sent to the process; see the [module docs](self).
///
/// A SIGINT that arrived earlier and is still pending (ringbolt was already listening to
/// SIGINT and nobody received it) completes it at once.
///
/// # Errors
///
/// Outside a ringbolt runtime, or when the signalfd cannot be set up or read.
///
/// # Examples
///
/// ```no_run
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     ringbolt_runtime::signal::ctrl_c().await?;
///     println!("stopping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn ctrl_c() -> std::io::Result<()> {
    unix::signal(unix::SignalKind::interrupt())?.recv().await
}

/// Unix signal kinds and listeners.
pub mod unix {
    use super::reader::{self, CoreReader};
    use super::registry::{self, Slot};
    use std::fmt;
    use std::future::poll_fn;
    use std::io;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    /// A kind of signal to listen for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SignalKind(i32);

    impl SignalKind {
        /// A signal by number, e.g. `SignalKind::from_raw(libc::SIGWINCH)`. Checked when a
        /// listener is created.
        pub const fn from_raw(signo: i32) -> SignalKind {
            SignalKind(signo)
        }

        /// The signal's number.
        pub const fn as_raw_value(&self) -> i32 {
            self.0
        }

        /// SIGALRM.
        pub const fn alarm() -> SignalKind {
            SignalKind(libc::SIGALRM)
        }

        /// SIGCHLD.
        pub const fn child() -> SignalKind {
            SignalKind(libc::SIGCHLD)
        }

        /// SIGHUP: the terminal went away; by convention also "reload the configuration".
        pub const fn hangup() -> SignalKind {
            SignalKind(libc::SIGHUP)
        }

        /// SIGINT: Ctrl-C.
        pub const fn interrupt() -> SignalKind {
            SignalKind(libc::SIGINT)
        }

        /// SIGPIPE.
        pub const fn pipe() -> SignalKind {
            SignalKind(libc::SIGPIPE)
        }

        /// SIGQUIT.
        pub const fn quit() -> SignalKind {
            SignalKind(libc::SIGQUIT)
        }

        /// SIGTERM: what service managers (systemd, Docker, Kubernetes) send to stop a process.
        pub const fn terminate() -> SignalKind {
            SignalKind(libc::SIGTERM)
        }

        /// SIGUSR1.
        pub const fn user_defined1() -> SignalKind {
            SignalKind(libc::SIGUSR1)
        }

        /// SIGUSR2.
        pub const fn user_defined2() -> SignalKind {
            SignalKind(libc::SIGUSR2)
        }

        /// SIGWINCH: the terminal was resized.
        pub const fn window_change() -> SignalKind {
            SignalKind(libc::SIGWINCH)
        }

        /// Why this kind cannot be listened to, if it cannot.
        fn refusal(self) -> Option<&'static str> {
            let s = self.0;
            if !(1..=64).contains(&s) {
                return Some("not a signal number (Linux signals are 1 to 64)");
            }
            if [libc::SIGKILL, libc::SIGSTOP].contains(&s) {
                return Some("SIGKILL and SIGSTOP cannot be caught");
            }
            if [
                libc::SIGILL,
                libc::SIGFPE,
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGTRAP,
            ]
            .contains(&s)
            {
                return Some(
                    "a fault signal is delivered to the faulting thread and cannot wait in a queue",
                );
            }
            if s >= 32 && s < libc::SIGRTMIN() {
                return Some("reserved by the C library for its threads");
            }
            None
        }
    }

    /// Listens for one kind of signal on the current core; see the [module docs](super).
    ///
    /// `!Send`: it belongs to the core it was created on, like a task.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ringbolt_runtime::signal::unix::{signal, SignalKind};
    ///
    /// let rt = ringbolt_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut hup = signal(SignalKind::hangup())?;
    ///     loop {
    ///         hup.recv().await?;
    ///         println!("reloading the configuration");
    ///     }
    ///     # #[allow(unreachable_code)]
    ///     # Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// ```compile_fail
    /// fn assert_send<T: Send>() {}
    /// assert_send::<ringbolt_runtime::signal::unix::Signal>();
    /// ```
    pub struct Signal {
        kind: SignalKind,
        key: usize,
        slot: Arc<Slot>,
        reader: Rc<CoreReader>,
    }

    /// Listens for `kind` from now on (and takes one that is pending already).
    ///
    /// # Errors
    ///
    /// - `InvalidInput` for a kind that cannot be listened to (SIGKILL, SIGSTOP, fault
    ///   signals, the C library's reserved real-time signals, a number out of range).
    /// - Outside a ringbolt runtime (`Runtime::block_on` or a task).
    /// - When `signalfd(2)`, `sigaction(2)` or `pthread_sigmask(3)` fail.
    pub fn signal(kind: SignalKind) -> io::Result<Signal> {
        if let Some(why) = kind.refusal() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("ringbolt: cannot listen to signal {}: {why}", kind.0),
            ));
        }
        // A runtime first, before any process-wide change.
        reader::current_core()?;
        let (key, slot) = registry::register(kind.0).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("ringbolt: cannot listen to signal {}: {e}", kind.0),
            )
        })?;
        let reader = reader::attach().inspect_err(|_| registry::unregister(key))?;
        Ok(Signal {
            kind,
            key,
            slot,
            reader,
        })
    }

    impl Signal {
        /// The kind this listener waits for.
        pub fn kind(&self) -> SignalKind {
            self.kind
        }

        /// Waits for the next arrival of the signal.
        ///
        /// # Errors
        ///
        /// When reading the signalfd failed (then no signal can be received any more).
        ///
        /// # Cancel safety
        ///
        /// Cancel safe: an arrival is kept for the next call.
        pub async fn recv(&mut self) -> io::Result<()> {
            poll_fn(|cx| self.poll_recv(cx)).await
        }

        /// Polls for the next arrival; see [`recv`](Self::recv).
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            if !self.reader.is_alive() {
                // The runtime that ran this core's reader is gone; read on the current one.
                match reader::attach() {
                    Ok(r) => {
                        reader::detach(&self.reader);
                        self.reader = r;
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            match self.slot.take_or_register(cx.waker()) {
                Some(r) => Poll::Ready(r),
                None => Poll::Pending,
            }
        }
    }

    impl Drop for Signal {
        fn drop(&mut self) {
            registry::unregister(self.key);
            reader::detach(&self.reader);
        }
    }

    impl fmt::Debug for Signal {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Signal").field("kind", &self.kind).finish()
        }
    }
}
