//! Ring setup with feature fallback, and errors that say why io_uring is unavailable.

use super::DriverConfig;
use io_uring::IoUring;
use std::fmt;
use std::io;

/// What the current core's ring was set up with and what its kernel offers; see
/// [`ring_features`](crate::ring_features).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
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
