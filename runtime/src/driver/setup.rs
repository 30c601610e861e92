//! Ring setup with feature fallback, and errors that say why io_uring is unavailable.

use super::DriverConfig;
use io_uring::IoUring;
use std::fmt;
use std::io;

/// Which driver carries a runtime's I/O: see [`Builder::driver`](crate::Builder::driver) and
/// `docs/drivers.md`.
///
/// The default is [`DriverKind::Auto`], unless the environment variable `RINGBOLT_DRIVER` says
/// `uring`, `epoll` or `auto` (an explicit `Builder::driver` call wins over it).
///
/// ```
/// use ringbolt_runtime::{DriverKind, Runtime};
///
/// let rt = Runtime::builder().driver(DriverKind::Epoll).build()?;
/// rt.block_on(async {
///     assert_eq!(ringbolt_runtime::driver_kind(), DriverKind::Epoll);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DriverKind {
    /// io_uring if it can be set up; otherwise, when the kernel forbids or lacks it
    /// (`EPERM`/`EACCES` from a seccomp filter or `kernel.io_uring_disabled`, `ENOSYS`,
    /// `ENOMEM`, or opcodes ringbolt needs are missing), the epoll driver, with a one-line
    /// notice on stderr (a `tracing` warning with the `tracing` feature) naming the cause and
    /// how to enable io_uring.
    #[default]
    Auto,
    /// io_uring only: setting it up fails with a [`SetupError`] that names the cause and the
    /// fix.
    IoUring,
    /// The readiness-based fallback: sockets with `epoll` and non-blocking system calls, files
    /// on the blocking thread pool (as `tokio::fs` does).
    Epoll,
}

impl DriverKind {
    /// The choice the environment variable `RINGBOLT_DRIVER` makes (`uring`/`io_uring`,
    /// `epoll`, `auto`), if it is set to one of them.
    pub fn from_env() -> Option<DriverKind> {
        let v = std::env::var("RINGBOLT_DRIVER").ok()?;
        match v.trim().to_ascii_lowercase().as_str() {
            "uring" | "io_uring" | "iouring" => Some(DriverKind::IoUring),
            "epoll" => Some(DriverKind::Epoll),
            "auto" | "" => Some(DriverKind::Auto),
            other => {
                warn_once_bad_env(other);
                None
            }
        }
    }

    /// `"io_uring"`, `"epoll"` or `"auto"`.
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Auto => "auto",
            DriverKind::IoUring => "io_uring",
            DriverKind::Epoll => "epoll",
        }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cold]
fn warn_once_bad_env(value: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        eprintln!("ringbolt: ignoring RINGBOLT_DRIVER={value:?} (expected uring, epoll or auto)");
    });
}

/// What the current core's ring was set up with and what its kernel offers; see
/// [`ring_features`](crate::ring_features).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    /// The driver carrying this core's I/O: [`DriverKind::IoUring`] or [`DriverKind::Epoll`]
    /// (on the epoll driver every other field is false).
    pub driver: DriverKind,
    /// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` accepted (6.1+).
    pub defer_taskrun: bool,
    /// `IORING_SETUP_COOP_TASKRUN` accepted (5.19+).
    pub coop_taskrun: bool,
    /// `IORING_SETUP_TASKRUN_FLAG` accepted: the kernel flags pending completion work.
    pub taskrun_flag: bool,
    /// `IORING_ASYNC_CANCEL_ANY` available (5.19+).
    pub cancel_any: bool,
    /// `IORING_OP_MSG_RING` available (5.18+): cross-core wakes without an eventfd.
    pub msg_ring: bool,
}

/// Tries the fastest flag set first, dropping flags one by one when the kernel refuses them.
pub(crate) fn build_ring(cfg: &DriverConfig) -> io::Result<(IoUring, Features)> {
    if let Some(errno) = cfg.inject_setup_errno {
        return Err(setup_error(io::Error::from_raw_os_error(errno)));
    }
    let entries = cfg.entries.max(1);
    // (single_issuer + defer_taskrun, coop_taskrun, taskrun_flag)
    let attempts: &[(bool, bool, bool)] = &[
        (true, true, true),
        (false, true, true),
        (false, true, false),
        (false, false, false),
    ];
    let mut last_err = None;
    for &(defer, coop, flag) in attempts {
        if defer && !cfg.defer_taskrun {
            continue;
        }
        let mut b = IoUring::builder();
        b.setup_clamp();
        if let Some(cq) = cfg.cq_entries {
            b.setup_cqsize(cq.max(entries));
        } else {
            b.setup_cqsize(entries.saturating_mul(2));
        }
        if defer {
            b.setup_single_issuer().setup_defer_taskrun();
        }
        if coop {
            b.setup_coop_taskrun();
        }
        if flag {
            b.setup_taskrun_flag();
        }
        match b.build(entries) {
            Ok(ring) => {
                let features = Features {
                    driver: DriverKind::IoUring,
                    defer_taskrun: defer,
                    coop_taskrun: coop,
                    taskrun_flag: flag,
                    // Filled in from the probe by the driver.
                    cancel_any: false,
                    msg_ring: false,
                };
                return Ok((ring, features));
            }
            // EINVAL: a flag this kernel does not know; try without it.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last_err = Some(e),
            Err(e) => return Err(setup_error(e)),
        }
    }
    Err(setup_error(last_err.unwrap_or_else(|| {
        io::Error::from_raw_os_error(libc::EINVAL)
    })))
}

/// The driver [`select`] chose.
#[allow(clippy::large_enum_variant)] // built once per core
pub(crate) enum Selected {
    Uring(IoUring, Features),
    Epoll(Box<super::epoll::Epoll>, Features),
}

/// Opcodes the io_uring driver needs; a ring whose probe lacks one is not used under
/// [`DriverKind::Auto`].
const REQUIRED: &[u8] = &[
    io_uring::opcode::Read::CODE,
    io_uring::opcode::Write::CODE,
    io_uring::opcode::Recv::CODE,
    io_uring::opcode::Send::CODE,
    io_uring::opcode::Accept::CODE,
    io_uring::opcode::Connect::CODE,
    io_uring::opcode::OpenAt::CODE,
    io_uring::opcode::Close::CODE,
    io_uring::opcode::Statx::CODE,
    io_uring::opcode::AsyncCancel::CODE,
    io_uring::opcode::PollAdd::CODE,
    io_uring::opcode::Shutdown::CODE,
];

/// Sets up the driver `cfg.driver` asks for (rule: `Auto` falls back to epoll only when the
/// kernel forbids or lacks io_uring; any other setup error is returned).
pub(crate) fn select(cfg: &DriverConfig, wake_fd: std::os::fd::RawFd) -> io::Result<Selected> {
    let epoll = || -> io::Result<Selected> {
        let features = Features {
            driver: DriverKind::Epoll,
            ..Features::default()
        };
        Ok(Selected::Epoll(
            Box::new(super::epoll::Epoll::new(wake_fd)?),
            features,
        ))
    };
    match cfg.driver {
        DriverKind::Epoll => epoll(),
        DriverKind::IoUring => {
            let (ring, features) = build_ring(cfg)?;
            Ok(Selected::Uring(ring, features))
        }
        DriverKind::Auto => match build_ring(cfg) {
            Ok((ring, features)) => {
                let mut probe = io_uring::Probe::new();
                let probed = ring.submitter().register_probe(&mut probe).is_ok();
                let missing: Vec<u8> = REQUIRED
                    .iter()
                    .copied()
                    .filter(|op| !probed || !probe.is_supported(*op))
                    .collect();
                if missing.is_empty() {
                    return Ok(Selected::Uring(ring, features));
                }
                drop(ring);
                fallback_notice(&format!(
                    "this kernel's io_uring lacks opcodes ringbolt needs ({missing:?}; Linux 5.19 or newer has them all)"
                ));
                epoll()
            }
            Err(e) if falls_back(&e) => {
                fallback_notice(&e.to_string());
                epoll()
            }
            Err(e) => Err(e),
        },
    }
}

/// Whether a setup error means io_uring is forbidden or missing here (then `Auto` uses epoll).
fn falls_back(e: &io::Error) -> bool {
    let errno = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<SetupError>())
        .and_then(SetupError::raw_os_error)
        .or_else(|| e.raw_os_error());
    matches!(
        errno,
        Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::ENOSYS) | Some(libc::ENOMEM)
    )
}

/// The one-line notice of an automatic fallback, once per process.
#[cold]
fn fallback_notice(cause: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let line = format!(
            "ringbolt: io_uring unavailable, running on the epoll driver (sockets via epoll, files on a thread pool). Cause: {}. Set RINGBOLT_DRIVER=epoll to choose it explicitly, or RINGBOLT_DRIVER=uring to make this an error",
            cause.replace('\n', " ")
        );
        #[cfg(feature = "tracing")]
        tracing::warn!(target: "ringbolt::driver", "{line}");
        #[cfg(not(feature = "tracing"))]
        eprintln!("{line}");
    });
}

/// The error of an io_uring-only feature used on the epoll driver.
#[cold]
pub(crate) fn needs_uring(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{what} needs io_uring, and this runtime runs on the epoll driver (io_uring is unavailable here, or RINGBOLT_DRIVER / Builder::driver chose epoll); see docs/drivers.md"
        ),
    )
}

/// Why io_uring could not be set up, with the likely cause and the fix.
///
/// Both `Display` and `Debug` print the cause and the fix: `fn main() -> io::Result<()>` shows
/// the `Debug` form.
pub struct SetupError {
    errno: Option<i32>,
    source: io::Error,
}

impl SetupError {
    /// The errno `io_uring_setup` returned, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.errno
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ringbolt could not set up io_uring ({}): ", self.source)?;
        match self.errno {
            Some(libc::EPERM) | Some(libc::EACCES) => f.write_str(
                "io_uring is forbidden here. Either a seccomp profile blocks it (the default \
                 Docker/containerd/Kubernetes profiles do: run with a profile that allows \
                 io_uring_setup, io_uring_enter and io_uring_register), or the sysctl \
                 kernel.io_uring_disabled is set (run `sysctl kernel.io_uring_disabled=0`, or \
                 set it to 1 and add this user to the group in kernel.io_uring_group)",
            ),
            Some(libc::ENOSYS) => f.write_str(
                "this kernel has no io_uring (built without CONFIG_IO_URING, older than 5.1, \
                 or a sandbox such as gVisor that does not implement it); ringbolt needs \
                 Linux 5.19 or newer with io_uring enabled",
            ),
            Some(libc::ENOMEM) => f.write_str(
                "the kernel could not allocate the ring. On kernels before 5.12 ring memory \
                 counts against RLIMIT_MEMLOCK: raise it (`ulimit -l`, or LimitMEMLOCK= in a \
                 systemd unit) or ask for fewer entries with Builder::entries",
            ),
            Some(libc::EMFILE) | Some(libc::ENFILE) => f.write_str(
                "out of file descriptors: raise RLIMIT_NOFILE (`ulimit -n`) or close fds",
            ),
            Some(libc::EINVAL) => f.write_str(
                "the kernel rejected every ring flag set ringbolt tried, down to a plain ring; \
                 ringbolt needs Linux 5.19 or newer",
            ),
            _ => f.write_str("see io_uring_setup(2) for this error"),
        }
    }
}

impl fmt::Debug for SetupError {
    /// The same text as `Display`: an error returned from `main` is printed with `Debug`, and
    /// the cause and fix must reach the user (a struct dump would drop them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn setup_error(e: io::Error) -> io::Error {
    let kind = match e.raw_os_error() {
        Some(libc::ENOSYS) => io::ErrorKind::Unsupported,
        _ => e.kind(),
    };
    io::Error::new(
        kind,
        SetupError {
            errno: e.raw_os_error(),
            source: e,
        },
    )
}
