//! Provided-buffer rings (`IORING_REGISTER_PBUF_RING`, Linux 5.19+): the kernel picks a buffer
//! from the ring when data arrives, so a multishot receive needs no buffer per request.
//!
//! A [`BufRing`] allocates `entries` buffers of `buf_len` bytes, registers a ring of them with
//! the current core's io_uring under a buffer-group id, and gives each completed receive's
//! buffer out as a [`ProvidedBuf`]. Dropping the `ProvidedBuf` puts the buffer back in the
//! ring for the kernel to fill again.
//!
//! Rules:
//! 1. The kernel writes only into buffers published in the ring (between its head and our
//!    tail). A buffer named by a completion has left the ring: the [`ProvidedBuf`] owns it
//!    exclusively until it is dropped and published again.
//! 2. The ring memory and the buffers live as long as the `BufRing` handle, any op using its
//!    group (each holds a handle) or any `ProvidedBuf` (each holds the ring). When the last
//!    goes, no op can select from the group any more; the ring is unregistered on the io_uring
//!    that holds it (at once, or at that core's next turn if its driver is busy; nothing once
//!    that runtime is gone) and the memory freed.
//! 4. A ring belongs to the core that registered it: a receive naming its group is refused
//!    (an error, before submission) on any other ring, and a buffer id a completion reports
//!    outside the ring is an error, never turned into a pointer.
//! 5. When every buffer is out, a receive that needs one fails with `ENOBUFS` (a multishot
//!    receive ends its stream): back-pressure, not end of stream. Drop buffers, then re-arm.
//!
//! `BufRing` and `ProvidedBuf` are `!Send`: they belong to the core whose ring registered them.

use crate::buf::IoBuf;
use crate::driver::current;
use crate::driver::home::DriverHandle;
use io_uring::types::BufRingEntry;
use std::alloc::{self, Layout};
use std::cell::Cell;
use std::fmt;
use std::io;
use std::ops::Deref;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};

/// Most entries one ring may have (the kernel's limit).
pub const MAX_RING_ENTRIES: u16 = 1 << 15;
const PAGE: usize = 4096;

struct RingInner {
    bgid: u16,
    /// `entries` ring slots, page-aligned (the kernel requires it).
    ring: NonNull<BufRingEntry>,
    ring_layout: Layout,
    /// `entries * buf_len` bytes of buffers.
    bufs: NonNull<u8>,
    bufs_layout: Layout,
    entries: u16,
    /// `entries - 1`: `entries` is a power of two, so a ring position masked with it is a slot.
    mask: u16,
    buf_len: usize,
    /// Our copy of the tail we publish to the kernel.
    tail: Cell<u16>,
    /// The driver whose ring this is registered with.
    driver: DriverHandle,
    /// Set once `bgid` is registered: only then does the drop unregister it.
    registered: bool,
}

impl RingInner {
    fn buf_ptr(&self, bid: u16) -> *mut u8 {
        // SAFETY: bid < entries, so the offset stays inside the `bufs` allocation.
        unsafe { self.bufs.as_ptr().add(usize::from(bid) * self.buf_len) }
    }

    /// Writes buffer `bid` into the next ring slot (not yet visible to the kernel).
    fn push(&self, bid: u16) {
        let tail = self.tail.get();
        let slot = usize::from(tail & self.mask);
        // `slot` < entries (power of two mask); the slot lies past the published tail,
        // so the kernel does not read it now. Only addr/len/bid are written, never the `resv`
        // field that doubles as the tail in slot 0.
        // SAFETY: the invariants just stated hold here.
        let entry = unsafe { &mut *self.ring.as_ptr().add(slot) };
        entry.set_addr(self.buf_ptr(bid) as u64);
        entry.set_len(self.buf_len as u32);
        entry.set_bid(bid);
        self.tail.set(tail.wrapping_add(1));
    }

    /// [`push`](Self::push) and [`publish`](Self::publish) for one buffer (a dropped
    /// [`ProvidedBuf`]), with every field read once before the stores.
    #[inline(always)]
    fn give_back(&self, bid: u16) {
        let ring = self.ring.as_ptr();
        let tail = self.tail.get();
        let slot = usize::from(tail & self.mask);
        let addr = self.buf_ptr(bid) as u64;
        let len = self.buf_len as u32;
        // `slot` < entries (power of two mask); the slot lies past the published tail, so the
        // kernel does not read it now. Only addr/len/bid are written, never the `resv` field
        // that doubles as the tail in slot 0.
        // SAFETY: the invariants just stated hold here.
        let entry = unsafe { &mut *ring.add(slot) };
        entry.set_addr(addr);
        entry.set_len(len);
        entry.set_bid(bid);
        let tail = tail.wrapping_add(1);
        self.tail.set(tail);
        // SAFETY: `ring` points at the ring's first entry, whose `resv` field is the shared
        // tail; it is a properly aligned u16 that the kernel only reads.
        let shared = unsafe { &*BufRingEntry::tail(ring).cast::<AtomicU16>() };
        shared.store(tail, Ordering::Release);
    }

    /// Makes every pushed slot visible to the kernel.
    fn publish(&self) {
        // SAFETY: `ring` points at the ring's first entry, whose `resv` field is the shared
        // tail; it is a properly aligned u16 that the kernel only reads.
        let tail = unsafe { &*BufRingEntry::tail(self.ring.as_ptr()).cast::<AtomicU16>() };
        tail.store(self.tail.get(), Ordering::Release);
    }
}

impl Drop for RingInner {
    fn drop(&mut self) {
        // No op using the group and no ProvidedBuf is alive (each holds this inner): the
        // kernel cannot select from the ring any more (rule 2). Unregister on its own ring,
        // now or at that core's next turn; on failure the group stays registered until the
        // ring closes, and freeing our memory is still sound since nothing selects from it.
        if self.registered {
            let bgid = self.bgid;
            self.driver.run(Box::new(move |d| {
                let _ = d.unregister_buf_ring(bgid);
            }));
        }
        // SAFETY: both blocks came from alloc_zeroed with exactly these layouts and are freed
        // once, after the last user is gone.
        unsafe {
            alloc::dealloc(self.ring.as_ptr().cast(), self.ring_layout);
            alloc::dealloc(self.bufs.as_ptr(), self.bufs_layout);
        }
    }
}

/// A ring of provided buffers registered with the current core's io_uring; see the module docs.
///
/// Cloning gives another handle to the same ring.
///
/// # Examples
///
/// ```
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let ring = ringbolt_runtime::buf::provided::BufRing::new(64, 4096)?;
///     assert_eq!((ring.entries(), ring.buf_len()), (64, 4096));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct BufRing {
    inner: Rc<RingInner>,
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("bgid", &self.inner.bgid)
            .field("entries", &self.inner.entries)
            .field("buf_len", &self.inner.buf_len)
            .finish()
    }
}

impl BufRing {
    /// Allocates `entries` buffers of `buf_len` bytes and registers them as a new buffer group
    /// on the current core's ring. `entries` is rounded up to a power of two.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for zero or too many entries or a zero or over-4-GiB buffer length;
    /// `EINVAL`/`ENOSYS` from kernels without buffer rings (before 5.19); `ENOMEM`; an error
    /// saying so when called outside a ringbolt runtime.
    pub fn new(entries: u16, buf_len: usize) -> io::Result<BufRing> {
        if entries == 0 || entries > MAX_RING_ENTRIES || buf_len == 0 || buf_len > u32::MAX as usize
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a buffer ring needs 1..=32768 entries of 1..=4 GiB each",
            ));
        }
        let driver = current::handle().ok_or_else(|| {
            io::Error::other("BufRing::new must be called inside a ringbolt runtime")
        })?;
        let entries = entries.next_power_of_two();
        let n = usize::from(entries);
        let ring_layout = Layout::from_size_align(n * std::mem::size_of::<BufRingEntry>(), PAGE)
            .map_err(io::Error::other)?;
        let bufs_size = n
            .checked_mul(buf_len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "ring too large"))?;
        let bufs_layout = Layout::from_size_align(bufs_size, 64).map_err(io::Error::other)?;
        // The buffers are not zeroed: a `ProvidedBuf` only ever exposes the bytes the kernel
        // (or the epoll driver's receive) wrote into it, and zeroing megabytes here took tens
        // of milliseconds of page faults at start (an aligned allocation is memset, not
        // calloc'd), long enough for a stall report.
        // SAFETY: both layouts have a non-zero size.
        let (ring, bufs) = unsafe { (alloc::alloc_zeroed(ring_layout), alloc::alloc(bufs_layout)) };
        let (Some(ring), Some(bufs)) = (
            NonNull::new(ring.cast::<BufRingEntry>()),
            NonNull::new(bufs),
        ) else {
            // SAFETY: free whichever allocation succeeded, with its own layout.
            unsafe {
                if !ring.is_null() {
                    alloc::dealloc(ring, ring_layout);
                }
                if !bufs.is_null() {
                    alloc::dealloc(bufs, bufs_layout);
                }
            }
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        };
        let mut inner = RingInner {
            bgid: 0,
            ring,
            ring_layout,
            bufs,
            bufs_layout,
            entries,
            mask: entries - 1,
            buf_len,
            tail: Cell::new(0),
            driver,
            registered: false,
        };
        inner.bgid = register(&inner)?;
        inner.registered = true;
        for bid in 0..entries {
            inner.push(bid);
        }
        inner.publish();
        Ok(BufRing {
            inner: Rc::new(inner),
        })
    }

    /// The buffer-group id to put in a receive SQE.
    pub fn bgid(&self) -> u16 {
        self.inner.bgid
    }

    /// Number of buffers.
    pub fn entries(&self) -> u16 {
        self.inner.entries
    }

    /// Size of each buffer.
    pub fn buf_len(&self) -> usize {
        self.inner.buf_len
    }

    /// Whether this ring is registered with the current core's io_uring: a receive selecting
    /// from it may only be submitted there (rule 4). Errors name the mistake.
    pub(crate) fn check_owner(&self) -> io::Result<()> {
        match current::is_current(&self.inner.driver) {
            Some(true) => Ok(()),
            Some(false) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "this BufRing is registered with another ringbolt runtime's io_uring; a \
                 receive may only select buffers on the ring that registered them (create one \
                 BufRing per core)",
            )),
            None => Err(io::Error::other(
                "ringbolt I/O must be polled inside a ringbolt runtime",
            )),
        }
    }

    /// Takes buffer `bid` that a completion reported filled with `len` bytes.
    ///
    /// # Errors
    ///
    /// A buffer id outside the ring (a kernel or registration mix-up) is an error, never a
    /// pointer (rule 4).
    ///
    /// # Safety
    ///
    /// - `bid` and `len` must come from a completion (`IORING_CQE_F_BUFFER`) of an op that
    ///   selected from this ring on the ring that registered it, and each such completion may
    ///   be taken only once (the buffer has left the ring and is owned by the returned value
    ///   until it is dropped).
    // Inline: once per chunk received; the error is built out of line.
    #[inline]
    pub(crate) unsafe fn take(&self, bid: u16, len: usize) -> io::Result<ProvidedBuf> {
        if !self.holds(bid) {
            return Err(self.bad_bid(bid));
        }
        // SAFETY: the caller keeps `take`'s contract, and `holds` checked the id.
        Ok(unsafe { self.take_held(bid, len) })
    }

    /// Whether `bid` names a buffer of this ring.
    #[inline(always)]
    pub(crate) fn holds(&self, bid: u16) -> bool {
        bid < self.inner.entries
    }

    /// [`take`](Self::take) for an id already checked with [`holds`](Self::holds): the
    /// receive's hot path.
    ///
    /// # Safety
    ///
    /// As [`take`](Self::take), and `holds(bid)` must be true.
    #[inline(always)]
    pub(crate) unsafe fn take_held(&self, bid: u16, len: usize) -> ProvidedBuf {
        debug_assert!(self.holds(bid));
        ProvidedBuf {
            ring: self.inner.clone(),
            bid,
            start: 0,
            // At most `buf_len`, which `new` keeps within u32.
            len: len.min(self.inner.buf_len) as u32,
        }
    }
}

impl BufRing {
    /// The error for a buffer id outside the ring (rule 4).
    #[cold]
    fn bad_bid(&self, bid: u16) -> io::Error {
        io::Error::other(format!(
            "the kernel reported provided buffer {bid}, but this ring has only {} \
             (buffer group {} selected from another ring?)",
            self.inner.entries, self.inner.bgid
        ))
    }
}

/// Registers the ring under the first free buffer-group id of the current core's ring. The
/// ids come from that ring's own counter and the kernel refuses one still registered there
/// (`EEXIST`, then the next is tried), so a group id names one live `BufRing` per ring.
fn register(inner: &RingInner) -> io::Result<u16> {
    current::try_with_driver(|d| {
        for _ in 0..1024 {
            let bgid = d.next_bgid();
            let (base, entries) = (inner.ring.as_ptr() as u64, inner.entries);
            // The ring memory is page-aligned, holds `entries` slots and lives until
            // RingInner's drop, which unregisters the group first (or, when it cannot, no op
            // can select from it any more: rule 2).
            // SAFETY: the memory outlives the registration, as just said.
            let res = unsafe { d.register_buf_ring(base, entries, bgid) };
            match res {
                Ok(()) => return Ok(bgid),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "no free buffer-group id on this ring (too many live BufRings on one core)",
        ))
    })
    .map_err(|_| io::Error::other("BufRing::new must be called inside a ringbolt runtime"))?
}

/// One buffer of a [`BufRing`], filled by a receive; returns to the ring when dropped.
///
/// Read it as a byte slice, or send it on as an [`IoBuf`] (its filled bytes).
pub struct ProvidedBuf {
    ring: Rc<RingInner>,
    bid: u16,
    /// Bytes consumed from the front with [`advance`](ProvidedBuf::advance); `start <= len`.
    /// (u32: a ring's buffers are at most 4 GiB, and a buffer is in every connection's future.)
    start: u32,
    /// Bytes the kernel wrote, from the buffer's start.
    len: u32,
}

impl ProvidedBuf {
    /// The buffer id within its ring.
    pub fn bid(&self) -> u16 {
        self.bid
    }

    /// Drops the first `n` bytes from the view (clamped to its length): what is left is what
    /// the buffer derefs to and what a write sends. The buffer still goes back to the ring
    /// whole when dropped.
    ///
    /// # Examples
    ///
    /// A reader that used part of a chunk keeps the rest for later.
    ///
    /// ```no_run
    /// # fn f(mut buf: ringbolt_runtime::buf::provided::ProvidedBuf) {
    /// let header = buf[..4].to_vec();
    /// buf.advance(4);
    /// // `buf` now holds the bytes after the header.
    /// # drop((header, buf));
    /// # }
    /// ```
    pub fn advance(&mut self, n: usize) {
        self.start += n.min((self.len - self.start) as usize) as u32;
    }
}

impl fmt::Debug for ProvidedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvidedBuf")
            .field("bid", &self.bid)
            .field("start", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

impl Deref for ProvidedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // The buffer is owned by this value (rule 1). Its first `len` <= buf_len bytes were
        // Written by the kernel (or the epoll driver's receive) for the CQE that made it
        // (`take`'s contract: `len` is that CQE's count).
        // SAFETY: every byte of the view is initialised (above); `start <= len` keeps it inside.
        unsafe { std::slice::from_raw_parts(self.stable_ptr(), (self.len - self.start) as usize) }
    }
}

// SAFETY: the memory belongs to the ring, which this value keeps alive, and does not move; the
// buffer is out of the ring (the kernel will not write it) until this value is dropped.
unsafe impl IoBuf for ProvidedBuf {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: start <= len <= buf_len, so the offset stays inside (or one past) the buffer.
        unsafe { self.ring.buf_ptr(self.bid).add(self.start as usize) }
    }
    fn bytes_init(&self) -> usize {
        (self.len - self.start) as usize
    }
    fn bytes_total(&self) -> usize {
        (self.len - self.start) as usize
    }
}

impl Drop for ProvidedBuf {
    // Inline: once per chunk received, a handful of stores.
    #[inline]
    fn drop(&mut self) {
        self.ring.give_back(self.bid);
    }
}
