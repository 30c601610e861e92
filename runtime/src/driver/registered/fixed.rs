//! Registered (fixed) buffers: memory pinned once and named by index in `READ_FIXED` /
//! `WRITE_FIXED`, which saves the kernel mapping the pages on every operation.
//!
//! A [`FixedBufPool`] allocates `count` buffers in one page-aligned block, registers them with
//! the current core's ring (`IORING_REGISTER_BUFFERS`) and hands them out as [`FixedBuf`]s.
//! A `FixedBuf` goes back to the pool when dropped.
//!
//! Rules:
//! 1. A ring holds one table of registered buffers, so one pool can be registered per core at
//!    a time; a second gives an error until the first is dropped.
//! 2. The block of memory lives as long as the pool handle or any `FixedBuf` (each holds the
//!    pool), so an in-flight op can never see it freed. When the last of them goes, the pool
//!    unregisters its table on the ring that holds it (at once, or at that core's next turn
//!    if its driver is busy; nothing once that runtime is gone) and then frees the memory.
//! 3. The kernel checks on every fixed op that the address range lies inside the registered
//!    buffer named by the index, so a `FixedBuf` used on a ring it was not registered with fails
//!    with `EFAULT` instead of touching other memory.
//! 4. The whole block is zeroed at allocation: every byte is always initialised.
//! 5. Pinned memory counts against `RLIMIT_MEMLOCK` (unless the process has `CAP_IPC_LOCK`); when
//!    the limit is too small the error says so and how to raise it.
//!
//! `FixedBuf`s are `!Send`: they belong to the core whose ring registered them.

use crate::buf::{IoBuf, IoBufMut, Slice};
use crate::driver::current;
use crate::driver::home::DriverHandle;
use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Most buffers one table holds (`IORING_MAX_REG_BUFFERS`).
pub const MAX_FIXED_BUFS: usize = 1 << 14;
/// Largest single registered buffer the kernel accepts (1 GiB).
pub const MAX_FIXED_BUF_SIZE: usize = 1 << 30;
/// Every buffer of a pool starts at a multiple of this (so pool buffers suit `O_DIRECT`).
const PAGE: usize = 4096;

/// A buffer inside a registered table, usable with `READ_FIXED` / `WRITE_FIXED`.
///
/// # Safety
///
/// - `stable_ptr()` up to `bytes_total()` bytes must lie inside registered buffer
///   `buf_index()` of the ring the buffer was registered with, and that memory must stay
///   registered and allocated while `self` is alive.
pub unsafe trait FixedIoBuf: IoBuf {
    /// The index of the registered buffer this memory belongs to.
    fn buf_index(&self) -> u16;
}

struct PoolInner {
    ptr: NonNull<u8>,
    layout: Layout,
    buf_size: usize,
    stride: usize,
    count: usize,
    free: RefCell<Vec<u16>>,
    waiters: RefCell<Vec<Waker>>,
    /// The driver whose ring holds the registration (identity check on drop).
    driver: DriverHandle,
}

impl PoolInner {
    /// Start of buffer `index`.
    fn buf_ptr(&self, index: u16) -> *mut u8 {
        debug_assert!((index as usize) < self.count);
        // SAFETY: index < count, so the offset index * stride stays inside the allocation of
        // count * stride bytes.
        unsafe { self.ptr.as_ptr().add(index as usize * self.stride) }
    }

    fn give_back(&self, index: u16) {
        self.free.borrow_mut().push(index);
        // Wake every waiter: one of them may have been dropped, and waking only it would strand
        // the others.
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // No FixedBuf is alive (each holds this inner), so no fixed op is in flight. Unregister
        // on the ring that holds the table, even outside block_on; if the runtime is gone, so
        // is the table. An error leaves the table registered (pages pinned until the ring
        // closes); freeing our mapping is still sound since no op can name it (rule 3).
        self.driver.run(Box::new(|d| {
            let _ = d.unregister_buffers();
        }));
        // SAFETY: `ptr` came from alloc_zeroed with exactly `layout` and is freed once, after
        // the last FixedBuf (and so the last op using it) is gone.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// A pool of buffers registered with the current core's ring, for
/// [`ReadFixed`](crate::ops::fs::ReadFixed) and [`WriteFixed`](crate::ops::fs::WriteFixed).
///
/// Cloning the pool clones a handle to the same buffers.
///
/// # Examples
///
/// ```
/// use ringbolt_runtime::buf::fixed::FixedBufPool;
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let pool = FixedBufPool::new(4, 4096)?;
///     let mut buf = pool.get().await;
///     buf.extend_from_slice(b"pinned");
///     assert_eq!(pool.available(), 3);
///     drop(buf);
///     assert_eq!(pool.available(), 4);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct FixedBufPool {
    inner: Rc<PoolInner>,
}

impl FixedBufPool {
    /// Allocates `count` zeroed buffers of `buf_size` bytes, each starting at a 4096-byte
    /// boundary, and registers them with the current core's ring.
    ///
    /// # Errors
    ///
    /// - `InvalidInput`: `count` is 0 or above [`MAX_FIXED_BUFS`], or `buf_size` is 0 or above
    ///   [`MAX_FIXED_BUF_SIZE`].
    /// - `OutOfMemory`: the pinned memory exceeds `RLIMIT_MEMLOCK`; the message gives the limit
    ///   and how to raise it.
    /// - `ResourceBusy`: another pool is registered on this core's ring (rule 1).
    /// - `Other`: called outside a ringbolt runtime.
    pub fn new(count: usize, buf_size: usize) -> io::Result<FixedBufPool> {
        if count == 0 || count > MAX_FIXED_BUFS {
            return Err(invalid(format!(
                "FixedBufPool: count {count} must be in 1..={MAX_FIXED_BUFS}"
            )));
        }
        if buf_size == 0 || buf_size > MAX_FIXED_BUF_SIZE {
            return Err(invalid(format!(
                "FixedBufPool: buffer size {buf_size} must be in 1..={MAX_FIXED_BUF_SIZE}"
            )));
        }
        let stride = buf_size.div_ceil(PAGE) * PAGE;
        let total = stride
            .checked_mul(count)
            .ok_or_else(|| invalid("FixedBufPool: total size overflows".to_string()))?;
        let layout = Layout::from_size_align(total, PAGE)
            .map_err(|_| invalid(format!("FixedBufPool: {total} bytes is too large")))?;
        // SAFETY: total >= 4096 > 0.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        let mut inner = PoolInner {
            ptr,
            layout,
            buf_size,
            stride,
            count,
            // Pop from the end: hand out index 0 first.
            free: RefCell::new((0..count as u16).rev().collect()),
            waiters: RefCell::new(Vec::new()),
            driver: DriverHandle::default(),
        };
        let iovecs: Vec<libc::iovec> = (0..count as u16)
            .map(|i| libc::iovec {
                iov_base: inner.buf_ptr(i).cast(),
                iov_len: buf_size,
            })
            .collect();
        let registered = current::try_with_driver(|driver| {
            // Every iovec points into `inner`'s allocation, which is freed only in
            // PoolInner::drop, after the table was unregistered (or the ring is gone); until
            // then the memory stays allocated and at its address (rule 2).
            // SAFETY: the invariants just stated hold here.
            unsafe { driver.register_buffers(&iovecs) }
        });
        match registered {
            Ok(Ok(())) => {
                inner.driver = current::handle().unwrap_or_default();
                Ok(FixedBufPool {
                    inner: Rc::new(inner),
                })
            }
            Ok(Err(e)) => Err(register_error(e, count, buf_size, total)),
            Err(current::NoDriver::Busy) => Err(io::Error::other(
                "FixedBufPool::new called while the driver is busy",
            )),
            Err(current::NoDriver::Outside) => Err(io::Error::other(
                "FixedBufPool::new must be called inside a ringbolt runtime",
            )),
        }
    }

    /// A free buffer (length 0), or `None` if all are in use.
    pub fn try_get(&self) -> Option<FixedBuf> {
        let index = self.inner.free.borrow_mut().pop()?;
        Some(FixedBuf {
            pool: self.inner.clone(),
            index,
            len: 0,
        })
    }

    /// A free buffer (length 0), waiting until one is given back if all are in use.
    pub async fn get(&self) -> FixedBuf {
        poll_fn(|cx| match self.try_get() {
            Some(b) => Poll::Ready(b),
            None => {
                let mut waiters = self.inner.waiters.borrow_mut();
                // Once per waiting task: a re-poll must not queue the same waker again.
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
        .await
    }

    /// Capacity of each buffer.
    pub fn buf_size(&self) -> usize {
        self.inner.buf_size
    }

    /// Number of buffers in the pool.
    pub fn count(&self) -> usize {
        self.inner.count
    }

    /// Number of buffers not handed out.
    pub fn available(&self) -> usize {
        self.inner.free.borrow().len()
    }
}

impl fmt::Debug for FixedBufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBufPool")
            .field("count", &self.inner.count)
            .field("buf_size", &self.inner.buf_size)
            .field("available", &self.available())
            .finish()
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Turns a failed `IORING_REGISTER_BUFFERS` into an error that says what to do.
fn register_error(e: io::Error, count: usize, buf_size: usize, total: usize) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ENOMEM) => {
            let limit =
                memlock_limit().map_or_else(|| "unknown".to_string(), |l| format!("{l} bytes"));
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "registering {count} fixed buffers of {buf_size} bytes ({total} bytes pinned) \
                     failed with ENOMEM: the locked-memory limit RLIMIT_MEMLOCK is {limit}; raise \
                     it (`ulimit -l`, LimitMEMLOCK= for a systemd unit, --ulimit memlock= for \
                     Docker) or use fewer or smaller buffers"
                ),
            )
        }
        Some(libc::EBUSY) => io::Error::new(
            io::ErrorKind::ResourceBusy,
            "this core's ring already has registered buffers (another FixedBufPool is alive); \
             drop it first: a ring holds one buffer table",
        ),
        _ => io::Error::new(
            e.kind(),
            format!("registering {count} fixed buffers of {buf_size} bytes failed: {e}"),
        ),
    }
}

/// The soft `RLIMIT_MEMLOCK`, or `None` if unknown or unlimited.
fn memlock_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the valid, exclusively borrowed `lim`.
    let res = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) };
    (res == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// One buffer of a [`FixedBufPool`], back in the pool when dropped.
///
/// Behaves like a `Vec<u8>` of fixed capacity [`FixedBufPool::buf_size`]: reads fill it from
/// the start and set its length; writes send `[0, len)`.
///
/// It belongs to the core whose ring registered it and cannot move to another thread:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<ringbolt_runtime::buf::fixed::FixedBuf>();
/// ```
pub struct FixedBuf {
    pool: Rc<PoolInner>,
    index: u16,
    len: usize,
}

impl FixedBuf {
    /// The registered buffer index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Bytes in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total bytes.
    pub fn capacity(&self) -> usize {
        self.pool.buf_size
    }

    /// Sets the length; every byte is always initialised (rule 4), so this is safe.
    ///
    /// # Panics
    ///
    /// Panics if `len > capacity()`.
    pub fn set_len(&mut self, len: usize) {
        assert!(
            len <= self.capacity(),
            "FixedBuf::set_len({len}) beyond capacity {}",
            self.capacity()
        );
        self.len = len;
    }

    /// Sets the length to 0.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `data` after the current length.
    ///
    /// # Panics
    ///
    /// Panics if the result would exceed the capacity.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        let end = self
            .len
            .checked_add(data.len())
            .filter(|&e| e <= self.capacity());
        let Some(end) = end else {
            panic!(
                "FixedBuf::extend_from_slice: {} + {} bytes exceed capacity {}",
                self.len,
                data.len(),
                self.capacity()
            );
        };
        let start = self.len;
        self.len = end;
        self[start..end].copy_from_slice(data);
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        self.pool.give_back(self.index);
    }
}

impl Deref for FixedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: this FixedBuf is the only holder of buffer `index` (it was popped from the free
        // list), whose `buf_size >= len` bytes are initialised (rule 4) and allocated (rule 2).
        unsafe { std::slice::from_raw_parts(self.pool.buf_ptr(self.index), self.len) }
    }
}

impl DerefMut for FixedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref; &mut self gives exclusive access to buffer `index`.
        unsafe { std::slice::from_raw_parts_mut(self.pool.buf_ptr(self.index), self.len) }
    }
}

impl fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBuf")
            .field("index", &self.index)
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .finish()
    }
}

// SAFETY: buffer `index` is `buf_size` bytes inside the pool's allocation, which this FixedBuf
// keeps alive and which never moves (rule 2); all of it is initialised (rule 4).
unsafe impl IoBuf for FixedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.pool.buf_ptr(self.index)
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.pool.buf_size
    }
}

// SAFETY: as for IoBuf; this FixedBuf is the only holder of buffer `index`, writable throughout.
unsafe impl IoBufMut for FixedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.pool.buf_ptr(self.index)
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // After a read the buffer holds exactly what the kernel wrote (buf/mod.rs rule 3).
        self.len = pos.min(self.pool.buf_size);
    }
}

// SAFETY: the range [stable_ptr, +bytes_total) is exactly registered buffer `index` (iovec
// base buf_ptr(index), length buf_size), registered while the pool lives (rules 2-3).
unsafe impl FixedIoBuf for FixedBuf {
    fn buf_index(&self) -> u16 {
        self.index
    }
}

// SAFETY: a Slice's range lies inside its inner buffer (checked when the Slice is made), so
// inside the same registered buffer.
unsafe impl<T: FixedIoBuf> FixedIoBuf for Slice<T> {
    fn buf_index(&self) -> u16 {
        self.get_ref().buf_index()
    }
}
