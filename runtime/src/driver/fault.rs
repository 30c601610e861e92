//! Fault injection (cargo feature `fault-injection`, off by default; without it this module
//! does not exist and the driver has no extra branch).
//!
//! Driven by a seed and per-fault probabilities, the driver experiences what real kernels and
//! networks do, so the suite finds the bugs that only show under them:
//!
//! | fault | where | what the driver or the op sees |
//! |---|---|---|
//! | `enter_eintr` | `io_uring_enter` | `EINTR` instead of the call (SQEs go with the next one) |
//! | `enter_eagain`, `enter_ebusy` | `io_uring_enter` | `EAGAIN`/`EBUSY`: reap, then retry |
//! | `sq_full` | SQE push | the full-SQ path: submit and reap before the push |
//! | `short_io` | READ/WRITE/RECV/SEND SQEs on stream sockets | the length is cut, so the kernel does a real short read or write |
//! | `tiny_rings` (flag) | ring setup | 4 SQ and 8 CQ entries: SQ-full and CQ-overflow paths all the time |
//! | `op_error` | op submission | the op completes with an error instead of reaching the kernel: `ECANCELED`, `EAGAIN` or `ECONNRESET` (sockets), `ENOBUFS` (provided-buffer receives), `EMFILE` (accepts) |
//! | `setup` | ring setup | `EPERM`, `ENOSYS` or `ENOMEM` |
//!
//! The first five never change what a correct program computes (short I/O is absorbed by the
//! `*_exact`/`*_all`/`copy` loops): the whole test suite must pass under them. `op_error` and
//! `setup` make operations fail; programs see them as `io::Error`s.
//!
//! Configuration, read once per process from the environment (or set with [`configure`]):
//! - `RINGBOLT_FAULT_SEED`: a number, or `clock` (the chosen seed is printed to stderr so a
//!   failure can be replayed). Unset: no fault is injected.
//! - `RINGBOLT_FAULTS`: comma-separated `name=probability` (and `tiny_rings=1`); unset means
//!   the benign profile [`FaultConfig::benign`].
//!
//! Each driver draws from its own generator, seeded from the seed and the driver's creation
//! number in the process, so a single test re-run alone with the same seed sees the same
//! faults (replay: `RINGBOLT_FAULT_SEED=7 cargo test --features ringbolt-runtime/fault-injection
//! -p ringbolt-net --test tcp_echo -- --test-threads=1`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Probabilities (0.0 to 1.0) of each fault, and the seed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultConfig {
    /// Seed of every driver's generator.
    pub seed: u64,
    /// `io_uring_enter` fails with `EINTR`.
    pub enter_eintr: f64,
    /// `io_uring_enter` fails with `EAGAIN`.
    pub enter_eagain: f64,
    /// `io_uring_enter` fails with `EBUSY`.
    pub enter_ebusy: f64,
    /// A push finds the SQ "full".
    pub sq_full: f64,
    /// A data transfer's length is cut (a real short read or write).
    pub short_io: f64,
    /// Rings are set up with 4 SQ and 8 CQ entries.
    pub tiny_rings: bool,
    /// An op completes with an error without reaching the kernel.
    pub op_error: f64,
    /// Ring setup fails with `EPERM`, `ENOSYS` or `ENOMEM`.
    pub setup: f64,
}

impl FaultConfig {
    /// The faults a correct program never notices (everything but `op_error` and `setup`).
    pub fn benign(seed: u64) -> FaultConfig {
        FaultConfig {
            seed,
            enter_eintr: 0.05,
            enter_eagain: 0.02,
            enter_ebusy: 0.02,
            sq_full: 0.05,
            short_io: 0.2,
            tiny_rings: true,
            op_error: 0.0,
            setup: 0.0,
        }
    }

    /// Parses `RINGBOLT_FAULTS`-style text onto `self`.
    fn apply(&mut self, spec: &str) -> Result<(), String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected name=probability"))?;
            let p: f64 = value
                .parse()
                .map_err(|_| format!("`{part}`: `{value}` is not a number"))?;
            let slot = match name {
                "enter_eintr" => &mut self.enter_eintr,
                "enter_eagain" => &mut self.enter_eagain,
                "enter_ebusy" => &mut self.enter_ebusy,
                "sq_full" => &mut self.sq_full,
                "short_io" => &mut self.short_io,
                "op_error" => &mut self.op_error,
                "setup" => &mut self.setup,
                "tiny_rings" => {
                    self.tiny_rings = p != 0.0;
                    continue;
                }
                _ => return Err(format!("unknown fault `{name}`")),
            };
            *slot = p.clamp(0.0, 1.0);
        }
        Ok(())
    }
}

static CONFIG: OnceLock<Mutex<Option<FaultConfig>>> = OnceLock::new();
static DRIVERS: AtomicU64 = AtomicU64::new(0);

fn config_cell() -> &'static Mutex<Option<FaultConfig>> {
    CONFIG.get_or_init(|| Mutex::new(from_env()))
}

fn from_env() -> Option<FaultConfig> {
    let seed = std::env::var("RINGBOLT_FAULT_SEED").ok()?;
    let seed = match seed.trim() {
        "clock" => {
            let s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            eprintln!("ringbolt fault injection: RINGBOLT_FAULT_SEED=clock chose seed {s}");
            s
        }
        s => match s.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!(
                    "ringbolt fault injection: RINGBOLT_FAULT_SEED={s:?} is not a number; off"
                );
                return None;
            }
        },
    };
    let mut cfg = FaultConfig::benign(seed);
    if let Ok(spec) = std::env::var("RINGBOLT_FAULTS") {
        cfg = FaultConfig {
            seed,
            ..FaultConfig::default()
        };
        if let Err(e) = cfg.apply(&spec) {
            eprintln!("ringbolt fault injection: RINGBOLT_FAULTS: {e}; off");
            return None;
        }
    }
    Some(cfg)
}

/// Sets (or with `None` clears) the faults of every driver created from now on in this process,
/// overriding the environment.
pub fn configure(cfg: Option<FaultConfig>) {
    *config_cell().lock().unwrap_or_else(|e| e.into_inner()) = cfg;
}

/// The configuration drivers created now would get.
pub fn current() -> Option<FaultConfig> {
    config_cell()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// Whether faults are being injected (tests that count syscalls or ring events skip then).
pub fn is_active() -> bool {
    current().is_some()
}

/// One driver's fault source.
pub(crate) struct Faults {
    cfg: FaultConfig,
    state: u64,
}

/// `IORING_OP_*` numbers the faults look at.
mod op {
    pub const READ_FIXED: u8 = 4;
    pub const WRITE_FIXED: u8 = 5;
    pub const ACCEPT: u8 = 13;
    pub const CONNECT: u8 = 16;
    pub const READ: u8 = 22;
    pub const WRITE: u8 = 23;
    pub const SEND: u8 = 26;
    pub const RECV: u8 = 27;
    pub const SENDMSG: u8 = 9;
    pub const RECVMSG: u8 = 10;
}
/// `IOSQE_BUFFER_SELECT`.
const BUFFER_SELECT: u8 = 1 << 5;
/// `IOSQE_FIXED_FILE`.
const FIXED_FILE: u8 = 1 << 0;

/// Whether `fd` is a `SOCK_STREAM` socket (one syscall; only paid with faults on).
fn is_stream_socket(fd: i32) -> bool {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `ty`, a live c_int.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    r == 0 && ty == libc::SOCK_STREAM
}

impl Faults {
    /// The faults for a new driver, if injection is configured.
    pub(crate) fn for_new_driver() -> Option<Faults> {
        let cfg = current()?;
        let n = DRIVERS.fetch_add(1, Ordering::Relaxed);
        let mut f = Faults {
            state: cfg.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D,
            cfg,
        };
        f.next();
        Some(f)
    }

    /// xorshift64*: cheap, and the same sequence for the same seed.
    fn next(&mut self) -> u64 {
        let mut x = self.state.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub(crate) fn tiny_rings(&self) -> bool {
        self.cfg.tiny_rings
    }

    /// An error for ring setup to fail with, if this one should.
    pub(crate) fn setup_error(&mut self) -> Option<i32> {
        if !self.chance(self.cfg.setup) {
            return None;
        }
        Some([libc::EPERM, libc::ENOSYS, libc::ENOMEM][(self.next() % 3) as usize])
    }

    /// An error for `io_uring_enter` to return instead of running, if this one should.
    pub(crate) fn enter_error(&mut self) -> Option<i32> {
        if self.chance(self.cfg.enter_eintr) {
            Some(libc::EINTR)
        } else if self.chance(self.cfg.enter_eagain) {
            Some(libc::EAGAIN)
        } else if self.chance(self.cfg.enter_ebusy) {
            Some(libc::EBUSY)
        } else {
            None
        }
    }

    /// Whether this push should find the SQ full.
    pub(crate) fn sq_full(&mut self) -> bool {
        self.chance(self.cfg.sq_full)
    }

    /// Cuts the length of a data transfer SQE (a real short read or write from the kernel).
    pub(crate) fn shorten(&mut self, entry: &mut io_uring::squeue::Entry) {
        let (opcode, flags, len) = sqe_fields(entry);
        let data = matches!(
            opcode,
            op::READ | op::WRITE | op::RECV | op::SEND | op::READ_FIXED | op::WRITE_FIXED
        );
        if !data || flags & BUFFER_SELECT != 0 || len < 2 || !self.chance(self.cfg.short_io) {
            return;
        }
        // Only byte streams may transfer less than asked mid-stream: a datagram would be
        // truncated, and a regular file is short only at its end.
        if flags & FIXED_FILE != 0 || !is_stream_socket(sqe_fd(entry)) {
            return;
        }
        let cut = 1 + (self.next() % u64::from(len - 1)) as u32;
        set_sqe_len(entry, cut);
    }

    /// An errno for an op to complete with instead of being submitted, if this one should.
    pub(crate) fn op_error(&mut self, entry: &io_uring::squeue::Entry) -> Option<i32> {
        if !self.chance(self.cfg.op_error) {
            return None;
        }
        let (opcode, flags, _) = sqe_fields(entry);
        let pick = self.next();
        Some(match opcode {
            op::ACCEPT => libc::EMFILE,
            op::RECV if flags & BUFFER_SELECT != 0 => libc::ENOBUFS,
            op::RECV | op::SEND | op::RECVMSG | op::SENDMSG | op::CONNECT => {
                [libc::ECONNRESET, libc::ECANCELED, libc::EAGAIN][(pick % 3) as usize]
            }
            _ => [libc::ECANCELED, libc::EAGAIN][(pick % 2) as usize],
        })
    }
}

/// Byte offsets in the kernel's `struct io_uring_sqe` (uapi, fixed).
const SQE_OPCODE: usize = 0;
const SQE_FLAGS: usize = 1;
const SQE_FD: usize = 4;
const SQE_LEN: usize = 24;

fn sqe_fd(entry: &io_uring::squeue::Entry) -> i32 {
    let p = (entry as *const io_uring::squeue::Entry).cast::<u8>();
    // SAFETY: as in `sqe_fields`.
    unsafe { p.add(SQE_FD).cast::<i32>().read_unaligned() }
}

fn sqe_fields(entry: &io_uring::squeue::Entry) -> (u8, u8, u32) {
    let p = (entry as *const io_uring::squeue::Entry).cast::<u8>();
    // SAFETY: `Entry` is `#[repr(C)]` around the kernel's 64-byte `io_uring_sqe`, so these
    // offsets lie inside it; unaligned reads make no alignment assumption.
    unsafe {
        (
            p.add(SQE_OPCODE).read(),
            p.add(SQE_FLAGS).read(),
            p.add(SQE_LEN).cast::<u32>().read_unaligned(),
        )
    }
}

fn set_sqe_len(entry: &mut io_uring::squeue::Entry, len: u32) {
    let p = (entry as *mut io_uring::squeue::Entry).cast::<u8>();
    // SAFETY: as in `sqe_fields`; `len` only shrinks a transfer, so the SQE still points into
    // memory the op owns.
    unsafe { p.add(SQE_LEN).cast::<u32>().write_unaligned(len) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let cfg = FaultConfig::benign(42);
        let mut a = Faults {
            cfg: cfg.clone(),
            state: 42,
        };
        let mut b = Faults { cfg, state: 42 };
        for _ in 0..1000 {
            assert_eq!(a.next(), b.next());
        }
    }

    #[test]
    fn chance_matches_probability() {
        let mut f = Faults {
            cfg: FaultConfig::benign(1),
            state: 1,
        };
        let hits = (0..100_000).filter(|_| f.chance(0.1)).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
        assert_eq!((0..1000).filter(|_| f.chance(0.0)).count(), 0);
    }

    #[test]
    fn spec_parses_and_rejects_unknown_names() {
        let mut c = FaultConfig::default();
        c.apply("enter_eintr=0.5, short_io=1, tiny_rings=1")
            .unwrap();
        assert_eq!((c.enter_eintr, c.short_io, c.tiny_rings), (0.5, 1.0, true));
        assert!(c.apply("bogus=1").is_err());
        assert!(c.apply("short_io=x").is_err());
    }

    #[test]
    fn shorten_cuts_only_data_transfers() {
        let mut f = Faults {
            cfg: FaultConfig {
                short_io: 1.0,
                ..FaultConfig::default()
            },
            state: 3,
        };
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut buf = [0u8; 100];
        let fd = std::os::fd::AsRawFd::as_raw_fd(&a);
        let mut e =
            io_uring::opcode::Read::new(io_uring::types::Fd(fd), buf.as_mut_ptr(), 100).build();
        f.shorten(&mut e);
        let (_, _, len) = sqe_fields(&e);
        assert!((1..100).contains(&len), "{len}");
        // Not a stream socket: left alone.
        let (d, _e) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&d);
        let mut e =
            io_uring::opcode::Read::new(io_uring::types::Fd(fd), buf.as_mut_ptr(), 100).build();
        f.shorten(&mut e);
        assert_eq!(sqe_fields(&e).2, 100);
        let mut nop = io_uring::opcode::Nop::new().build();
        f.shorten(&mut nop);
        assert_eq!(sqe_fields(&nop).2, 0);
    }
}
