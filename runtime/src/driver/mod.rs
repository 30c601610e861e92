//! The per-core io_uring driver: ring setup, submission, reaping and shutdown.
//!
//! Rules:
//! 1. One ring per runtime, entered only from the thread that created it (the runtime is
//!    `!Send`), which makes `IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN` valid.
//! 2. Each event-loop turn makes at most one `io_uring_enter`: it submits everything queued and,
//!    when no task is ready, waits for one completion or the next timer deadline (`EXT_ARG`).
//! 3. A pushed SQE is never abandoned: SQ full → submit and reap, then retry; `EINTR` → retry;
//!    `EAGAIN`/`EBUSY` → reap, then retry. The op owning it stays alive until its final CQE.
//! 4. Shutdown cancels every in-flight op and reaps until none is left; only then is the ring
//!    closed (dropping the `IoUring`).
//! 5. Wakers and orphan releases found while reaping are deferred until the driver is no
//!    longer borrowed, so no user code runs inside the driver.

pub(crate) mod current;
pub(crate) mod epoll;
#[cfg(feature = "fault-injection")]
pub mod fault;
mod fd;
pub(crate) mod home;
pub(crate) mod op;
pub mod ops;
mod queues;
pub mod registered;
pub(crate) mod setup;
mod slots;

pub use setup::{DriverKind, Features, SetupError};

pub use fd::SharedFd;
pub use op::{MultiOp, MultishotOpCode, Op, OpCode, Salvage};

use io_uring::{cqueue, opcode, squeue::Entry, types, IoUring, Probe};
use op::Orphan;
use slots::Slots;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::executor::remote::Shared;

/// `user_data` of an op: slot index in the low 32 bits, generation in the high 32.
pub(crate) type Key = u64;

/// The first driver id. Ids are unique per process; the ones below are markers an op uses for
/// its phase (see `op.rs`'s `PackedPhase`).
pub(crate) const FIRST_DRIVER_ID: u64 = 4;

/// Reserved `user_data`: the armed read of the runtime's wake eventfd.
const WAKE_TAG: u64 = u64::MAX;
/// Reserved `user_data`: an `ASYNC_CANCEL` request (its own CQE is ignored).
const CANCEL_TAG: u64 = u64::MAX - 1;
/// Reserved `user_data`: a `MSG_RING` wake posted by another core.
pub(crate) const MSG_RING_TAG: u64 = u64::MAX - 2;
/// The lowest reserved `user_data`. Every op key is below it: its index is below
/// `u32::MAX - 4` (see `insert`; a slab that large would need 256 GiB), so even with
/// generation `u32::MAX` it stays under.
const FIRST_RESERVED_TAG: u64 = MSG_RING_TAG;

/// `IORING_SQ_CQ_OVERFLOW` and `IORING_SQ_TASKRUN`, bits of the SQ ring's flags (uapi).
const IORING_SQ_CQ_OVERFLOW: u32 = 1 << 1;
const IORING_SQ_TASKRUN: u32 = 1 << 2;

/// What [`Driver::submit`] did with a single-shot op.
pub(crate) enum Submitted {
    /// In flight under this key.
    InFlight(Key),
    /// Completed during the submission (epoll driver): its final CQE.
    Done(RawCqe),
}

/// The outcome of one CQE.
#[derive(Debug)]
pub struct CqeResult {
    /// The result: a non-negative `res`, or the error `-res` names.
    pub result: io::Result<u32>,
    /// The CQE flags (`IORING_CQE_F_MORE`, `IORING_CQE_F_BUFFER`, ...).
    pub flags: u32,
    /// False when the op never reached the kernel (its SQE could not be submitted): then
    /// nothing the SQE asked for happened.
    submitted: bool,
}

/// A CQE as the kernel posted it, kept in the slab until the op's future takes it. Eight bytes,
/// so it moves in registers; the `io::Result` is built only when the future takes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawCqe {
    res: i32,
    flags: u32,
}

// `poll_op` forgets a removed `Completed` slot instead of dropping it: sound only while the
// payload owns nothing.
const _: () = assert!(!std::mem::needs_drop::<RawCqe>());

impl RawCqe {
    #[inline]
    fn has_more(self) -> bool {
        cqueue::more(self.flags)
    }
}

impl From<RawCqe> for CqeResult {
    #[inline]
    fn from(raw: RawCqe) -> CqeResult {
        CqeResult::from_raw(raw.res, raw.flags)
    }
}

impl CqeResult {
    #[inline]
    fn from_raw(res: i32, flags: u32) -> Self {
        let result = if res >= 0 {
            Ok(res as u32)
        } else {
            Err(io::Error::from_raw_os_error(-res))
        };
        CqeResult {
            result,
            flags,
            submitted: true,
        }
    }

    /// Whether the kernel saw the op. `false` only for an op whose submission failed, whose
    /// result is then the submission error.
    pub fn reached_kernel(&self) -> bool {
        self.submitted
    }

    /// The buffer id chosen by the kernel from a provided-buffer group, if any.
    pub fn buffer_id(&self) -> Option<u16> {
        cqueue::buffer_select(self.flags)
    }

    /// Whether the op posts more CQEs after this one (`IORING_CQE_F_MORE`).
    pub fn has_more(&self) -> bool {
        cqueue::more(self.flags)
    }
}

enum Slot {
    /// In flight; the future is alive and waits with this waker. `result` holds the result
    /// CQE of an op that posts it with `F_MORE` before a final notification (SEND_ZC).
    Waiting {
        waker: Option<Waker>,
        result: Option<RawCqe>,
    },
    /// The final CQE arrived; the future has not taken it yet.
    Completed(RawCqe),
    /// In flight; the future was dropped and left its state here.
    Ignored(Box<dyn Orphan>),
    /// The sender's side of a `MSG_RING` wake of the target core (not counted as an op).
    Wake(Arc<Shared>),
    /// A multishot op whose stream is alive, with the CQEs the stream has not taken yet.
    Stream {
        waker: Option<Waker>,
        queue: CqeQueue,
    },
    /// A multishot op whose final CQE arrived; the stream has not taken everything yet.
    StreamDone(CqeQueue),
}

/// A FIFO of CQEs that holds one inline: a stream usually has at most one CQE waiting (a
/// ping-pong connection), so only a burst allocates, and an idle stream owns no heap memory.
/// Sixteen bytes, so a slot stays at five words.
struct CqeQueue {
    /// The oldest CQE, or `EMPTY`; set only while `rest` is empty, so order is kept.
    head: RawCqe,
    /// Boxed on purpose: a thin pointer keeps the queue (and so every slot) small, and only
    /// a burst ever allocates it.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<RawCqe>>>,
}

impl CqeQueue {
    /// No CQE: the kernel never posts `res == i32::MIN` (a result is a byte count or a
    /// count of at most `i32::MAX`, or `-errno` with errno below 4096).
    const EMPTY: RawCqe = RawCqe {
        res: i32::MIN,
        flags: 0,
    };

    #[inline]
    fn new() -> Self {
        CqeQueue {
            head: Self::EMPTY,
            rest: None,
        }
    }

    #[inline]
    fn head_empty(&self) -> bool {
        self.head.res == i32::MIN
    }

    /// Inline for the common case (nothing queued, never a burst); a burst is out of line.
    #[inline(always)]
    fn push(&mut self, cqe: RawCqe) {
        debug_assert!(cqe.res != i32::MIN, "a CQE with res == i32::MIN");
        if self.head_empty() && self.rest.is_none() {
            self.head = cqe;
        } else {
            self.push_burst(cqe);
        }
    }

    /// [`push`](Self::push) with a CQE already queued, or after a burst.
    #[cold]
    #[inline(never)]
    fn push_burst(&mut self, cqe: RawCqe) {
        let head_empty = self.head_empty();
        match &mut self.rest {
            None if head_empty => self.head = cqe,
            Some(rest) if head_empty && rest.is_empty() => self.head = cqe,
            Some(rest) => rest.push_back(cqe),
            None => self.rest = Some(Box::new(VecDeque::from([cqe]))),
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<RawCqe> {
        if !self.head_empty() {
            return Some(std::mem::replace(&mut self.head, Self::EMPTY));
        }
        match &mut self.rest {
            None => None,
            Some(rest) => Self::pop_burst(rest),
        }
    }

    /// [`pop`](Self::pop) after a burst.
    #[cold]
    #[inline(never)]
    fn pop_burst(rest: &mut VecDeque<RawCqe>) -> Option<RawCqe> {
        rest.pop_front()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.head_empty() && self.rest.as_ref().is_none_or(|r| r.is_empty())
    }
}

/// Where the reap puts the wakers of the ops it completes.
///
/// The driver's own `wakes` list is the default: the executor wakes them once the driver is
/// released. The event loop's turn passes its own sink to [`Driver::enter_with`], which queues
/// this core's tasks straight on the run queue while the reap runs (that only moves a task
/// reference, no user code runs) and keeps every other waker for after the enter. A sink's
/// `wake` must not reach the driver (it is borrowed) nor run user code.
pub(crate) trait WakeSink {
    /// Takes the waker of an op that completed (or of a stream that got a CQE).
    fn wake(&mut self, waker: Waker);
}

impl WakeSink for Vec<Waker> {
    #[inline(always)]
    fn wake(&mut self, waker: Waker) {
        self.push(waker);
    }
}

/// Ring settings chosen by the [`Builder`](crate::Builder).
#[derive(Clone, Debug)]
pub(crate) struct DriverConfig {
    pub(crate) entries: u32,
    pub(crate) cq_entries: Option<u32>,
    pub(crate) inject_setup_errno: Option<i32>,
    pub(crate) defer_taskrun: bool,
    /// Which driver to set up.
    pub(crate) driver: DriverKind,
    /// Stall detection and metrics (used by the runtime, carried here to every core).
    pub(crate) obs: crate::stall::ObsConfig,
}

/// Counters the driver keeps; see [`crate::Stats`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DriverStats {
    pub(crate) ops_submitted: u64,
    pub(crate) ops_completed: u64,
    pub(crate) ops_cancelled: u64,
    pub(crate) enters: u64,
    pub(crate) cq_overflows: u64,
    pub(crate) stale_cqes: u64,
    pub(crate) cqes_reaped: u64,
}

/// What carries the ops: an io_uring, or the epoll fallback that runs the same SQEs.
// The io_uring stays inline: it is on every op's path; the fallback is boxed.
#[allow(clippy::large_enum_variant)]
enum Ring {
    Uring(Uring),
    Epoll(Box<epoll::Epoll>),
}

/// The io_uring and its queues, mapped a second time to be used in place (`queues.rs`).
struct Uring {
    ring: IoUring,
    queues: queues::Queues,
}

impl std::ops::Deref for Uring {
    type Target = IoUring;

    #[inline]
    fn deref(&self) -> &IoUring {
        &self.ring
    }
}

impl std::ops::DerefMut for Uring {
    #[inline]
    fn deref_mut(&mut self) -> &mut IoUring {
        &mut self.ring
    }
}

/// Owns the ring and the slab of in-flight ops.
pub(crate) struct Driver {
    /// Unique per driver in the process: ops remember it, so an op is only ever polled or
    /// dropped into the slab of the ring that holds its SQE.
    pub(crate) id: u64,
    ring: Ring,
    slots: Slots<Slot>,
    in_flight: usize,
    probe: Probe,
    features: setup::Features,
    wake_fd: RawFd,
    wake_buf: Box<u64>,
    wake_armed: bool,
    shutting_down: bool,
    /// Wakers found while reaping, woken by the executor once the driver is released.
    pub(crate) wakes: Vec<Waker>,
    /// Orphans whose final CQE arrived, released by the executor once the driver is released.
    pub(crate) released: Vec<(Box<dyn Orphan>, CqeResult)>,
    pub(crate) stats: DriverStats,
    /// Next provided-buffer group id to try on this ring.
    next_bgid: u16,
    /// `MSG_RING` wakes sent whose own CQE has not arrived.
    wakes_in_flight: usize,
    /// `ops_submitted` at the last wait of the epoll driver (for the SQEs-per-enter metric).
    submitted_at_wait: u64,
    #[cfg(feature = "fault-injection")]
    faults: Option<fault::Faults>,
    /// Set by the runtime when metrics are on: SQEs per enter.
    pub(crate) metrics: Option<Arc<crate::metrics::CoreMetrics>>,
}

impl Driver {
    /// Sets up the ring (see [`setup`]) and arms the wake eventfd read.
    pub(crate) fn new(cfg: &DriverConfig, wake_fd: RawFd) -> io::Result<Driver> {
        #[cfg(feature = "fault-injection")]
        let mut faults = fault::Faults::for_new_driver();
        #[cfg(feature = "fault-injection")]
        let cfg = &{
            let mut cfg = cfg.clone();
            if let Some(f) = faults.as_mut() {
                if f.tiny_rings() {
                    cfg.entries = cfg.entries.min(4);
                    cfg.cq_entries = Some(8);
                }
                if let Some(errno) = f.setup_error() {
                    cfg.inject_setup_errno = Some(errno);
                }
            }
            cfg
        };
        let (ring, features, probe) = match setup::select(cfg, wake_fd)? {
            setup::Selected::Uring(ring, mut features) => {
                let mut probe = Probe::new();
                if ring.submitter().register_probe(&mut probe).is_err() {
                    // Kernels without the probe (< 5.6) are below our minimum anyway;
                    // everything then reports unsupported and callers take their portable
                    // paths.
                    probe = Probe::new();
                }
                // IORING_ASYNC_CANCEL_ANY arrived in 5.19 with the socket opcode; the probe
                // cannot report cancel flags, so the opcode stands in for the release.
                features.cancel_any = probe.is_supported(opcode::Socket::CODE);
                features.msg_ring = probe.is_supported(opcode::MsgRingData::CODE);
                let queues = queues::Queues::new(&ring)?;
                (Ring::Uring(Uring { ring, queues }), features, probe)
            }
            setup::Selected::Epoll(epoll, features) => (Ring::Epoll(epoll), features, Probe::new()),
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 =
            std::sync::atomic::AtomicU64::new(FIRST_DRIVER_ID);
        let mut driver = Driver {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            probe: Probe::new(),
            ring,
            slots: Slots::with_capacity(256),
            in_flight: 0,
            features,
            wake_fd,
            wake_buf: Box::new(0),
            wake_armed: false,
            shutting_down: false,
            wakes: Vec::new(),
            released: Vec::new(),
            stats: DriverStats::default(),
            next_bgid: 0,
            wakes_in_flight: 0,
            submitted_at_wait: 0,
            #[cfg(feature = "fault-injection")]
            faults,
            metrics: None,
        };
        driver.probe = probe;
        driver.arm_wake()?;
        Ok(driver)
    }

    /// The next buffer-group id to try registering on this ring (wraps; the kernel refuses an
    /// id that is still registered).
    pub(crate) fn next_bgid(&mut self) -> u16 {
        let id = self.next_bgid;
        self.next_bgid = id.wrapping_add(1);
        id
    }

    /// Whether the kernel supports an opcode (`io_uring::opcode::X::CODE`); on the epoll
    /// driver, whether that driver runs it.
    pub(crate) fn is_supported(&self, opcode: u8) -> bool {
        match self.ring {
            Ring::Uring(_) => self.probe.is_supported(opcode),
            Ring::Epoll(_) => epoll::Epoll::is_supported(opcode),
        }
    }

    /// Which driver carries the ops.
    pub(crate) fn kind(&self) -> DriverKind {
        self.features.driver
    }

    pub(crate) fn features(&self) -> setup::Features {
        self.features
    }

    /// The ring's fd, the target of `MSG_RING` wakes from other cores (-1 on the epoll
    /// driver, which is woken through its eventfd).
    pub(crate) fn ring_fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        match &self.ring {
            Ring::Uring(ring) => ring.as_raw_fd(),
            Ring::Epoll(_) => -1,
        }
    }

    /// The ring's submitter, for registering files. On the epoll driver, an `Unsupported`
    /// error saying that `what` needs io_uring.
    pub(crate) fn submitter(&self, what: &str) -> io::Result<io_uring::Submitter<'_>> {
        match &self.ring {
            Ring::Uring(ring) => Ok(ring.submitter()),
            Ring::Epoll(_) => Err(setup::needs_uring(what)),
        }
    }

    /// Registers a provided-buffer ring of `entries` entries at `base` as group `bgid`.
    ///
    /// # Safety
    ///
    /// The ring memory stays allocated and in place until [`Self::unregister_buf_ring`] for
    /// `bgid` succeeded or the driver is gone.
    pub(crate) unsafe fn register_buf_ring(
        &mut self,
        base: u64,
        entries: u16,
        bgid: u16,
    ) -> io::Result<()> {
        match &mut self.ring {
            // SAFETY: the caller keeps the ring memory alive and in place (this fn's contract).
            Ring::Uring(ring) => unsafe {
                ring.submitter()
                    .register_buf_ring_with_flags(base, entries, bgid, 0)
            },
            Ring::Epoll(e) => e.register_buf_ring(base, entries, bgid),
        }
    }

    /// Unregisters provided-buffer group `bgid`.
    pub(crate) fn unregister_buf_ring(&mut self, bgid: u16) -> io::Result<()> {
        match &mut self.ring {
            Ring::Uring(ring) => ring.submitter().unregister_buf_ring(bgid),
            Ring::Epoll(e) => e.unregister_buf_ring(bgid),
        }
    }

    /// Registers fixed buffers. The epoll driver needs no registration: its fixed-buffer
    /// reads and writes use the addresses in the SQE like plain ones.
    ///
    /// # Safety
    ///
    /// Every iovec stays allocated and in place until [`Self::unregister_buffers`] succeeded
    /// or the driver is gone.
    pub(crate) unsafe fn register_buffers(&self, iovecs: &[libc::iovec]) -> io::Result<()> {
        match &self.ring {
            // SAFETY: the caller keeps the buffers alive and in place (this fn's contract).
            Ring::Uring(ring) => unsafe { ring.submitter().register_buffers(iovecs) },
            // One table per driver, as the kernel allows one per ring.
            Ring::Epoll(e) => match e.fixed_buffers.replace(true) {
                false => Ok(()),
                true => Err(io::Error::from_raw_os_error(libc::EBUSY)),
            },
        }
    }

    /// Unregisters the fixed buffers.
    pub(crate) fn unregister_buffers(&self) -> io::Result<()> {
        match &self.ring {
            Ring::Uring(ring) => ring.submitter().unregister_buffers(),
            Ring::Epoll(e) => match e.fixed_buffers.replace(false) {
                true => Ok(()),
                false => Err(io::Error::from_raw_os_error(libc::ENXIO)),
            },
        }
    }

    /// The fd `fd` is being closed or leaves this core: the epoll driver forgets its
    /// registration.
    #[inline]
    pub(crate) fn forget_fd(&mut self, fd: RawFd) {
        if let Ring::Epoll(e) = &mut self.ring {
            e.forget_fd(fd);
        }
    }

    /// Whether SQEs wait in the SQ for an enter.
    pub(crate) fn has_queued(&mut self) -> bool {
        match &mut self.ring {
            Ring::Uring(ring) => ring.queues.sq_len() != 0,
            Ring::Epoll(_) => false,
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn arm_wake(&mut self) -> io::Result<()> {
        let ptr: *mut u64 = &mut *self.wake_buf;
        let entry = opcode::Read::new(types::Fd(self.wake_fd), ptr.cast(), 8).build();
        // Set before pushing: a push that finds the SQ full reaps, and that reap must not arm
        // a second read into the same buffer.
        self.wake_armed = true;
        if let Err(e) = self.push(entry, WAKE_TAG) {
            self.wake_armed = false;
            return Err(e);
        }
        Ok(())
    }

    #[inline]
    fn insert(&mut self, slot: Slot) -> Key {
        self.slots.insert(slot)
    }

    #[inline(always)]
    fn submit_entry(&mut self, entry: Entry, slot: Slot) -> io::Result<Key> {
        #[cfg(feature = "fault-injection")]
        let entry = {
            let mut entry = entry;
            if let Some(f) = self.faults.as_mut() {
                if let Some(errno) = f.op_error(&entry) {
                    return Ok(self.fail_now(slot, errno));
                }
                f.shorten(&mut entry);
            }
            entry
        };
        let key = self.insert(slot);
        if let Err(e) = self.push(entry, key) {
            self.slots.remove(key);
            return Err(e);
        }
        self.in_flight += 1;
        self.stats.ops_submitted += 1;
        Ok(key)
    }

    /// Completes an op with `-errno` without submitting it (fault injection), as if the
    /// kernel had: its waker runs at the next turn.
    #[cfg(feature = "fault-injection")]
    fn fail_now(&mut self, slot: Slot, errno: i32) -> Key {
        let cqe = RawCqe {
            res: -errno,
            flags: 0,
        };
        let (slot, waker) = match slot {
            Slot::Waiting { waker, .. } => (Slot::Completed(cqe), waker),
            Slot::Stream { waker, mut queue } => {
                queue.push(cqe);
                (Slot::StreamDone(queue), waker)
            }
            other => (other, None),
        };
        self.wakes.extend(waker);
        self.insert(slot)
    }

    /// Queues a single-shot op's SQE; it reaches the kernel with the next enter. On the epoll
    /// driver a read or write that completes at once (a send with room in the socket buffer, a
    /// read with data queued) comes back with its CQE, so its future need not wait for a turn,
    /// as with tokio; every other op completes at a turn, as on io_uring.
    ///
    /// The io_uring case is inlined into the op's poll; the epoll driver's is out of line.
    #[inline(always)]
    pub(crate) fn submit(&mut self, entry: Entry, waker: &Waker) -> io::Result<Submitted> {
        #[cfg(feature = "fault-injection")]
        let faults = self.faults.is_some();
        #[cfg(not(feature = "fault-injection"))]
        let faults = false;
        if matches!(self.ring, Ring::Epoll(_)) && !faults {
            return self.submit_epoll(entry, waker);
        }
        let key = self.submit_entry(
            entry,
            Slot::Waiting {
                waker: Some(waker.clone()),
                result: None,
            },
        )?;
        Ok(Submitted::InFlight(key))
    }

    /// [`submit`](Self::submit) on the epoll driver.
    #[inline(never)]
    fn submit_epoll(&mut self, entry: Entry, waker: &Waker) -> io::Result<Submitted> {
        let Ring::Epoll(e) = &mut self.ring else {
            unreachable!("submit_epoll on the io_uring driver")
        };
        let begun = e.begin(&entry);
        let slot = || Slot::Waiting {
            waker: Some(waker.clone()),
            result: None,
        };
        match begun {
            epoll::Begin::Done(res, flags) => {
                self.stats.ops_submitted += 1;
                self.stats.ops_completed += 1;
                Ok(Submitted::Done(RawCqe { res, flags }))
            }
            epoll::Begin::Park(p) => {
                let key = self.insert(slot());
                self.in_flight += 1;
                self.stats.ops_submitted += 1;
                if let Ring::Epoll(e) = &mut self.ring {
                    e.park_new(p, key);
                }
                Ok(Submitted::InFlight(key))
            }
            epoll::Begin::Pool(s) => {
                let key = self.insert(slot());
                self.in_flight += 1;
                self.stats.ops_submitted += 1;
                if let Ring::Epoll(e) = &mut self.ring {
                    e.pool_new(s, key);
                }
                Ok(Submitted::InFlight(key))
            }
            epoll::Begin::Other => {
                let key = self.submit_entry(entry, slot())?;
                Ok(Submitted::InFlight(key))
            }
        }
    }

    /// Queues a multishot op's SQE.
    pub(crate) fn submit_multishot(&mut self, entry: Entry, waker: Waker) -> io::Result<Key> {
        self.submit_entry(
            entry,
            Slot::Stream {
                waker: Some(waker),
                queue: CqeQueue::new(),
            },
        )
    }

    #[inline]
    fn slot_mut(&mut self, key: Key) -> Option<&mut Slot> {
        self.slots.get_mut(key)
    }

    /// Takes a single-shot op's final CQE, or records the waker. `Ready(None)` when the slot is
    /// not this op's (a bug the caller reports as an error).
    #[inline]
    pub(crate) fn poll_op(&mut self, key: Key, waker: &Waker) -> Poll<Option<RawCqe>> {
        let Some(slot) = self.slot_mut(key) else {
            return Poll::Ready(None);
        };
        match slot {
            Slot::Waiting { waker: w, .. } => {
                match w {
                    Some(w) if w.will_wake(waker) => {}
                    _ => *w = Some(waker.clone()),
                }
                Poll::Pending
            }
            Slot::Completed(cqe) => {
                let cqe = *cqe;
                // A Completed slot owns nothing (RawCqe is Copy): skip the drop glue.
                std::mem::forget(self.slots.remove(key));
                Poll::Ready(Some(cqe))
            }
            Slot::Ignored(_) | Slot::Stream { .. } | Slot::StreamDone(_) | Slot::Wake(_) => {
                Poll::Ready(None)
            }
        }
    }

    /// Takes the next CQE of a multishot op (with whether it was the last), or records the
    /// waker; `None` once the stream ended and everything was taken.
    ///
    /// Inline for a live stream (a CQE waiting, or none); a stream that ended is out of line.
    #[inline(always)]
    pub(crate) fn poll_stream(
        &mut self,
        key: Key,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(RawCqe, bool)>> {
        if let Some(Slot::Stream { waker, queue }) = self.slot_mut(key) {
            if let Some(cqe) = queue.pop() {
                return Poll::Ready(Some((cqe, false)));
            }
            match waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                w => *w = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        self.poll_stream_done(key)
    }

    /// [`poll_stream`](Self::poll_stream) once the stream's final CQE is in (or the slot is
    /// not a stream's).
    #[cold]
    #[inline(never)]
    fn poll_stream_done(&mut self, key: Key) -> Poll<Option<(RawCqe, bool)>> {
        match self.slot_mut(key) {
            Some(Slot::StreamDone(queue)) => {
                let next = queue.pop();
                let last = queue.is_empty();
                if last {
                    self.slots.remove(key);
                }
                Poll::Ready(next.map(|cqe| (cqe, last)))
            }
            _ => Poll::Ready(None),
        }
    }

    /// The future of an in-flight single-shot op was dropped: keep its state until the final
    /// CQE and ask the kernel to cancel it. If the final CQE is already here, hands the state
    /// back with it, for the caller to release once the driver is no longer borrowed.
    pub(crate) fn drop_op(
        &mut self,
        key: Key,
        orphan: Box<dyn Orphan>,
    ) -> Option<(Box<dyn Orphan>, CqeResult)> {
        let Some(slot) = self.slot_mut(key) else {
            // The slot is freed only by poll_op of this same op, and ops are dropped only into
            // the driver that holds them; never free memory the kernel may still use.
            std::mem::forget(orphan);
            return None;
        };
        match slot {
            Slot::Completed(cqe) => {
                let cqe = CqeResult::from(*cqe);
                self.slots.remove(key);
                Some((orphan, cqe))
            }
            Slot::Waiting { result, .. } => {
                let early = result.take();
                let mut orphan = orphan;
                orphan.mark_parked();
                *slot = Slot::Ignored(orphan);
                if let (Some(cqe), Slot::Ignored(o)) = (early, slot) {
                    o.more(cqe.into());
                }
                self.cancel(key);
                None
            }
            Slot::Ignored(_) | Slot::Stream { .. } | Slot::StreamDone(_) | Slot::Wake(_) => {
                std::mem::forget(orphan);
                None
            }
        }
    }

    /// The stream of an in-flight multishot op was dropped.
    pub(crate) fn drop_stream(&mut self, key: Key, mut orphan: Box<dyn Orphan>) {
        let (queue, done) = match self.slot_mut(key) {
            Some(Slot::Stream { queue, .. }) => (queue, false),
            Some(Slot::StreamDone(queue)) => (queue, true),
            _ => {
                std::mem::forget(orphan);
                return;
            }
        };
        let mut queued = std::mem::replace(queue, CqeQueue::new());
        while let Some(cqe) = queued.pop() {
            orphan.more(cqe.into());
        }
        if done {
            self.slots.remove(key);
            drop(orphan);
        } else if let Some(slot) = self.slot_mut(key) {
            orphan.mark_parked();
            *slot = Slot::Ignored(orphan);
            self.cancel(key);
        }
    }

    /// Asks the kernel to cancel an op whose future is alive ([`Op::cancel`]); its final CQE
    /// still comes and the future takes it. Nothing happens when the op already completed.
    pub(crate) fn cancel_op(&mut self, key: Key) {
        match self.slot_mut(key) {
            Some(Slot::Waiting { .. }) => self.cancel(key),
            Some(Slot::Stream { .. }) => self.cancel(key),
            _ => {}
        }
    }

    fn cancel(&mut self, key: Key) {
        let entry = opcode::AsyncCancel::new(key).build();
        // If even this push fails the op still completes on its own, and shutdown cancels
        // everything again.
        if self.push(entry, CANCEL_TAG).is_ok() {
            self.stats.ops_cancelled += 1;
        }
    }

    /// Posts a wake CQE on another ring with `MSG_RING`, submitted now (not at the next turn:
    /// see executor/remote.rs rule 4). The sender's CQE is matched to its target, so an error
    /// falls back to the target's eventfd. False if unsupported or not submitted.
    pub(crate) fn msg_ring(&mut self, target_ring_fd: RawFd, target: &Arc<Shared>) -> bool {
        if !self.features.msg_ring || self.shutting_down {
            return false;
        }
        let entry =
            opcode::MsgRingData::new(types::Fd(target_ring_fd), 0, MSG_RING_TAG, None).build();
        let key = self.insert(Slot::Wake(target.clone()));
        if self.push(entry, key).is_err() {
            self.slots.remove(key);
            return false;
        }
        self.wakes_in_flight += 1;
        self.stats.enters += 1;
        // Submit only: the sender's CQE is reaped at this core's next turn. On failure the
        // SQE stays queued and goes out with the next enter; the wake is late, not lost.
        if let Ring::Uring(ring) = &self.ring {
            let _ = ring.submit();
        }
        true
    }

    /// Pushes an SQE with `user_data`; when the SQ is full, submits and reaps, then retries.
    /// The common case (io_uring, room in the SQ) is inlined into the caller and writes the
    /// entry once, straight into its SQ slot; the rest is out of line.
    #[inline(always)]
    fn push(&mut self, entry: Entry, user_data: u64) -> io::Result<()> {
        #[cfg(not(feature = "fault-injection"))]
        if let Ring::Uring(ring) = &mut self.ring {
            // Every pointer in `entry` points into op state that the driver keeps alive until
            // the final CQE (OpCode contract, op.rs rules 1-2), or into the driver's own wake
            // buffer, which lives until shutdown reaped the wake read.
            // SAFETY: the pointed-to memory outlives the SQE, as just said.
            return match unsafe { ring.queues.push(entry, user_data) } {
                Ok(()) => Ok(()),
                Err(entry) => self.push_slow(entry, user_data),
            };
        }
        self.push_slow(entry, user_data)
    }

    /// [`push`](Self::push) when the SQ is full, on the epoll driver, or with fault injection.
    #[inline(never)]
    fn push_slow(&mut self, mut entry: Entry, user_data: u64) -> io::Result<()> {
        #[cfg(feature = "fault-injection")]
        if self.faults.as_mut().is_some_and(|f| f.sq_full()) {
            // As if the SQ were full: the same submit-and-reap path.
            self.enter(false, None)?;
        }
        loop {
            match &mut self.ring {
                Ring::Uring(ring) => {
                    // As in `push`: the memory every pointer in `entry` names outlives the SQE.
                    // SAFETY: the pointed-to memory outlives the SQE, as just said.
                    match unsafe { ring.queues.push(entry, user_data) } {
                        Ok(()) => return Ok(()),
                        Err(back) => entry = back,
                    }
                }
                Ring::Epoll(e) => {
                    e.submit(&entry.user_data(user_data));
                    return Ok(());
                }
            }
            self.enter(false, None)?;
        }
    }

    /// One `io_uring_enter`: submits all queued SQEs; with `wait`, sleeps until one completion
    /// or `timeout`. Then reaps the CQ.
    pub(crate) fn enter(&mut self, wait: bool, timeout: Option<Duration>) -> io::Result<()> {
        // Behind the wakes found earlier, which `enter_with` looks at (it does not sleep
        // while any wait). Allocates only when a reap finds one, off the event loop's path.
        let mut found = Vec::new();
        let res = self.enter_with(wait, timeout, &mut found);
        self.wakes.append(&mut found);
        res
    }

    /// [`enter`](Self::enter), with the completed ops' wakers handed to `sink` (see
    /// [`WakeSink`]); the driver's own `wakes` list keeps what earlier reaps found.
    #[inline]
    pub(crate) fn enter_with<S: WakeSink>(
        &mut self,
        wait: bool,
        timeout: Option<Duration>,
        sink: &mut S,
    ) -> io::Result<()> {
        match &mut self.ring {
            Ring::Uring(_) => {}
            Ring::Epoll(e) => {
                self.stats.enters += 1;
                #[cfg(feature = "fault-injection")]
                if let Some(errno) = self.faults.as_mut().and_then(|f| f.enter_error()) {
                    if errno != libc::EINTR && errno != libc::EAGAIN && errno != libc::EBUSY {
                        return Err(io::Error::from_raw_os_error(errno));
                    }
                }
                if let Some(m) = &self.metrics {
                    m.sqes_per_enter
                        .record(self.stats.ops_submitted - self.submitted_at_wait);
                }
                self.submitted_at_wait = self.stats.ops_submitted;
                let wait = wait && self.wakes.is_empty();
                e.wait(wait, timeout)?;
                self.reap_into(sink);
                return Ok(());
            }
        }
        let mut attempts = 0u32;
        loop {
            let sq_len = self.uring().queues.sq_len() as usize;
            let sq_flags = self.uring().queues.sq_flags();
            let overflow = sq_flags & IORING_SQ_CQ_OVERFLOW != 0;
            let taskrun = sq_flags & IORING_SQ_TASKRUN != 0;
            if overflow {
                self.stats.cq_overflows += 1;
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    target: "ringbolt::ring",
                    in_flight = self.in_flight,
                    "completion queue overflowed (the kernel keeps the completions; a larger \
                     Builder::cq_entries avoids the backlog)"
                );
            }
            if !wait && sq_len == 0 && !overflow && !taskrun && self.features.taskrun_flag {
                // Nothing to submit and the kernel says no completion work is pending.
                break;
            }
            if wait && (self.uring().queues.cq_ready() || !self.wakes.is_empty()) {
                // Completions already waiting, or wakes found by a reap during a task's poll
                // (an SQ-full submit) not yet handed to the executor: do not sleep.
                return self.enter_with(false, None, sink);
            }
            self.stats.enters += 1;
            if let Some(m) = &self.metrics {
                m.sqes_per_enter.record(sq_len as u64);
            }
            #[cfg(feature = "fault-injection")]
            let injected = self.faults.as_mut().and_then(|f| f.enter_error());
            #[cfg(not(feature = "fault-injection"))]
            let injected: Option<i32> = None;
            let res = if let Some(errno) = injected {
                Err(io::Error::from_raw_os_error(errno))
            } else if let (true, Some(t)) = (wait, timeout) {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.uring().submitter().submit_with_args(1, &args)
            } else if wait {
                // No timeout: a plain enter that waits for one completion. (`submit_with_args`
                // would pass an empty `IORING_ENTER_EXT_ARG` block, which the kernel copies in
                // from user memory on every enter, and spends ~60 instructions building it.)
                let flags = io_uring::EnterFlags::GETEVENTS.bits();
                // SAFETY: plain enter without an argument; to_submit is the SQ length.
                unsafe {
                    self.uring()
                        .submitter()
                        .enter::<libc::sigset_t>(sq_len as u32, 1, flags, None)
                }
            } else {
                let flags = io_uring::EnterFlags::GETEVENTS.bits();
                // SAFETY: plain enter without an argument; to_submit is the SQ length.
                unsafe {
                    self.uring()
                        .submitter()
                        .enter::<libc::sigset_t>(sq_len as u32, 0, flags, None)
                }
            };
            match res {
                Ok(_) => break,
                Err(e) => match e.raw_os_error() {
                    Some(libc::ETIME) | Some(libc::EINTR) => break,
                    Some(libc::EAGAIN) | Some(libc::EBUSY) => {
                        // Kernel short of memory or CQ backlog full: make room and retry.
                        self.reap_into(sink);
                        attempts += 1;
                        if attempts > 1000 {
                            return Err(io::Error::new(
                                e.kind(),
                                format!("io_uring_enter keeps failing ({e}); the kernel is out of resources for this ring"),
                            ));
                        }
                        if attempts > 10 {
                            std::thread::yield_now();
                        }
                    }
                    _ => return Err(e),
                },
            }
        }
        self.reap_into(sink);
        Ok(())
    }

    /// The io_uring (only called on paths that checked the driver is one).
    #[inline]
    fn uring(&mut self) -> &mut Uring {
        match &mut self.ring {
            Ring::Uring(ring) => ring,
            Ring::Epoll(_) => unreachable!("io_uring path taken on the epoll driver"),
        }
    }

    /// Drains the CQ into the slots, handing the wakers to `sink`.
    fn reap_into<S: WakeSink>(&mut self, sink: &mut S) {
        let ring = match &mut self.ring {
            Ring::Uring(ring) => ring,
            Ring::Epoll(e) => {
                let mut cqes = std::mem::take(&mut e.cqes);
                self.stats.cqes_reaped += cqes.len() as u64;
                for &(ud, res, flags) in &cqes {
                    if ud < FIRST_RESERVED_TAG {
                        dispatch(
                            &mut self.slots,
                            &mut self.in_flight,
                            &mut self.wakes_in_flight,
                            &mut self.stats,
                            sink,
                            &mut self.released,
                            ud,
                            RawCqe { res, flags },
                        );
                    } else if ud == WAKE_TAG {
                        self.wake_armed = false;
                    }
                }
                cqes.clear();
                if let Ring::Epoll(e) = &mut self.ring {
                    // Keep the allocation, unless completions were posted meanwhile (none
                    // are: dispatch runs no op code).
                    if e.cqes.is_empty() {
                        e.cqes = cqes;
                    }
                }
                if !self.wake_armed && !self.shutting_down {
                    let _ = self.arm_wake();
                }
                return;
            }
        };
        let reaped = ring.queues.reap(|ud, res, flags| {
            // The common case first: one compare tells an op's key from every reserved tag.
            if ud < FIRST_RESERVED_TAG {
                dispatch(
                    &mut self.slots,
                    &mut self.in_flight,
                    &mut self.wakes_in_flight,
                    &mut self.stats,
                    sink,
                    &mut self.released,
                    ud,
                    RawCqe { res, flags },
                );
            } else if ud == WAKE_TAG {
                // A wake only makes the enter return; the executor then looks at the remote
                // queue's pending flag. The other reserved CQEs (CANCEL_TAG, MSG_RING_TAG)
                // carry nothing.
                self.wake_armed = false;
            }
        });
        self.stats.cqes_reaped += u64::from(reaped);
        if !self.wake_armed && !self.shutting_down {
            // Re-arm on the next submission; failing here only delays remote wakes until the
            // next turn, which retries.
            let _ = self.arm_wake();
        }
    }

    /// Cancels every in-flight op and reaps until none is left (rule 4). Orphans released on
    /// the way run user drop code (buffers); a panic there is caught so the reap goes on, and
    /// the first one is handed back for the caller to raise once shutdown is over.
    pub(crate) fn shutdown(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        self.shutting_down = true;
        let mut panic = None;
        let mut rounds = 0u32;
        while self.in_flight > 0 || self.wake_armed || self.wakes_in_flight > 0 {
            rounds += 1;
            if self.features.cancel_any {
                let entry = opcode::AsyncCancel2::new(types::CancelBuilder::any().all()).build();
                let _ = self.push(entry, CANCEL_TAG);
            } else {
                let keys: Vec<Key> = self
                    .slots
                    .iter()
                    .filter(|(_, slot)| match slot {
                        Slot::Ignored(_) | Slot::Waiting { .. } => true,
                        Slot::Stream { .. } => true,
                        Slot::StreamDone(_) | Slot::Completed(_) | Slot::Wake(_) => false,
                    })
                    .map(|(key, _)| key)
                    .collect();
                for key in keys {
                    self.cancel(key);
                }
                let entry = opcode::AsyncCancel::new(WAKE_TAG).build();
                let _ = self.push(entry, CANCEL_TAG);
            }
            if self.enter(true, Some(Duration::from_millis(100))).is_err() && rounds > 100 {
                // The ring is unusable; `Drop` leaks the remaining op states rather than free
                // memory the kernel may still write.
                break;
            }
            self.release_caught(&mut panic);
        }
        self.release_caught(&mut panic);
        panic
    }

    /// Finishes released orphans, catching a panic of their drop code (kept in `panic`).
    fn release_caught(&mut self, panic: &mut Option<Box<dyn std::any::Any + Send>>) {
        for (orphan, cqe) in std::mem::take(&mut self.released) {
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| orphan.finish(cqe)));
            if let Err(p) = res {
                panic.get_or_insert(p);
            }
        }
    }
}

impl Drop for Driver {
    /// Rule 4's last line of defence: a driver dropped with ops still in flight (shutdown never
    /// ran to the end, or the ring failed) leaks their state and the wake buffer instead of
    /// freeing memory the kernel may still write; closing the ring then cancels them.
    fn drop(&mut self) {
        if self.in_flight == 0 && !self.wake_armed {
            return;
        }
        for slot in self.slots.drain() {
            if let Slot::Ignored(o) = slot {
                std::mem::forget(o);
            }
        }
        if self.wake_armed {
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn dispatch(
    slots: &mut Slots<Slot>,
    in_flight: &mut usize,
    wakes_in_flight: &mut usize,
    stats: &mut DriverStats,
    wakes: &mut impl WakeSink,
    released: &mut Vec<(Box<dyn Orphan>, CqeResult)>,
    key: Key,
    cqe: RawCqe,
) {
    let Some(slot) = slots.get_mut(key) else {
        stats.stale_cqes += 1;
        return;
    };
    let more = cqe.has_more();
    #[cfg(feature = "tracing")]
    if cqe.res < 0 {
        trace_op_error(key, cqe.res);
    }
    match slot {
        // The hot case: a single-shot op's final CQE. The slot becomes `Completed` in place.
        Slot::Waiting { waker, result } if !more => {
            let waker = waker.take();
            let cqe = match result.take() {
                // The op's result is the F_MORE CQE; the final CQE is only the notification
                // that the kernel is done with the buffer (zero-copy send).
                Some(mut r) => {
                    r.flags |= cqe.flags;
                    r
                }
                None => cqe,
            };
            // The slot owns nothing now (waker and result taken): forgetting it skips the
            // drop glue and leaks nothing.
            std::mem::forget(std::mem::replace(slot, Slot::Completed(cqe)));
            *in_flight -= 1;
            stats.ops_completed += 1;
            if let Some(w) = waker {
                wakes.wake(w);
            }
        }
        Slot::Waiting { result, .. } => {
            // A single-shot op that posts its result now and a notification later
            // (zero-copy send): keep the result, wait for the final CQE.
            *result = Some(cqe);
        }
        Slot::Stream { waker, queue } => {
            queue.push(cqe);
            let waker = waker.take();
            if !more {
                let queue = std::mem::replace(queue, CqeQueue::new());
                // The slot owns nothing now (waker and queue taken).
                std::mem::forget(std::mem::replace(slot, Slot::StreamDone(queue)));
                *in_flight -= 1;
                stats.ops_completed += 1;
            }
            if let Some(w) = waker {
                wakes.wake(w);
            }
        }
        Slot::StreamDone(_) => stats.stale_cqes += 1,
        Slot::Ignored(orphan) => {
            if more {
                orphan.more(cqe.into());
                return;
            }
            let Some(Slot::Ignored(orphan)) = slots.remove(key) else {
                unreachable!("matched Ignored above")
            };
            *in_flight -= 1;
            stats.ops_completed += 1;
            released.push((orphan, cqe.into()));
        }
        Slot::Wake(_) => {
            let Some(Slot::Wake(target)) = slots.remove(key) else {
                unreachable!("matched Wake above")
            };
            *wakes_in_flight -= 1;
            if cqe.res < 0 {
                // The kernel could not post the wake (target ring gone or its CQ full): ring
                // the target's eventfd instead, so `pending` never stays set unseen.
                target.signal_eventfd();
            }
        }
        Slot::Completed(_) => stats.stale_cqes += 1,
    }
}

/// A failed op as a `tracing` event: ENOBUFS (a provided-buffer ring ran dry) as a warning,
/// cancellations as trace, the rest as debug (the op's caller gets and handles the error).
#[cfg(feature = "tracing")]
#[cold]
fn trace_op_error(key: Key, res: i32) {
    let err = io::Error::from_raw_os_error(-res);
    match -res {
        libc::ENOBUFS => tracing::warn!(
            target: "ringbolt::op",
            op = key,
            "op failed with ENOBUFS: its provided-buffer ring is empty (give the BufRing more \
             or larger buffers, or return them sooner)"
        ),
        libc::ECANCELED => tracing::trace!(target: "ringbolt::op", op = key, "op cancelled"),
        _ => tracing::debug!(target: "ringbolt::op", op = key, error = %err, "op failed"),
    }
}

/// The error an op gets when its slot is not its own (never expected; see op.rs rule 3).
#[cold]
pub(crate) fn lost_slot() -> io::Error {
    io::Error::other("ringbolt: op polled on a runtime that does not own it")
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cqe_queue_keeps_order_across_its_inline_head() {
        let cqe = |res| RawCqe { res, flags: 0 };
        let mut q = CqeQueue::new();
        assert!(q.is_empty());
        q.push(cqe(1));
        assert!(q.rest.is_none(), "one CQE stays inline");
        q.push(cqe(2));
        q.push(cqe(3));
        assert_eq!(q.pop().map(|c| c.res), Some(1));
        // The head is empty while older CQEs wait in `rest`: a new one goes behind them.
        q.push(cqe(4));
        let mut out = vec![];
        while let Some(c) = q.pop() {
            out.push(c.res);
        }
        assert_eq!(out, [2, 3, 4]);
        assert!(q.is_empty());
        // Inline again once drained.
        q.push(cqe(5));
        assert!(!q.head_empty());
        assert_eq!(q.pop().map(|c| c.res), Some(5));
        assert!(q.is_empty());
    }

    #[test]
    fn slots_stay_small() {
        // An in-flight op's slot: the table holds one per op, and one per idle connection.
        assert!(
            std::mem::size_of::<Slot>() <= 40,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }
}
