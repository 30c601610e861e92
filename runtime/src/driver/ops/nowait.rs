//! Inline attempts: a read or write done at once with a system call that cannot block
//! (`preadv2`/`pwritev2` with `RWF_NOWAIT`), before the op goes to the ring.
//!
//! A completion ring pays for submission, a turn of the executor and the reap even when the
//! data is already there (a file's pages in the page cache, bytes waiting in a pipe). When it
//! is, one plain system call is cheaper. See `docs/fast_path.md` for the measurements.
//!
//! Rules:
//! 1. An attempt never blocks: with `RWF_NOWAIT` the kernel returns `EAGAIN` instead of
//!    waiting (a page-cache miss, an empty pipe, a full socket buffer), and the op then goes to
//!    the ring as if nothing happened.
//! 2. Only a count is reported inline. Any error sends the op to the ring, so errors are always
//!    the ring's own; an error other than `EAGAIN` (`EOPNOTSUPP` from a filesystem without
//!    non-blocking buffered writes, `EBADF`, ...) also turns attempts off for that fd and
//!    direction.
//! 3. Adaptive, per fd and direction ([`InlineHint`] in the [`SharedFd`]): after `k`
//!    consecutive misses the next `2^k - 1` ops skip the attempt and go straight to the ring
//!    (at most 255 in a row), so an fd that usually would block costs at most one extra
//!    system call per 256 ops; a hit starts over. (A miss on a file costs little more than
//!    the system call: the kernel starts the read-ahead it would start for the ring's read.)
//! 4. Never on `O_DIRECT` files (a direct read waits for the device even with `RWF_NOWAIT`):
//!    the fd's flags are read once (`F_GETFL`, with `fstat` for rule 7) unless its owner
//!    already said, through [`SharedFd::set_inline_io`].
//! 5. Only when the ring is not batching: while the driver submits two SQEs or more per
//!    `io_uring_enter` (many ops in flight, as at queue depth 32), a ring op costs less than
//!    a system call and every op goes to the ring. And at most [`INLINE_BUDGET`] inline
//!    completions per turn of the driver on a thread, so a task whose I/O is always ready
//!    still yields: its next op goes to the ring and the other tasks and completions get
//!    their turn.
//! 6. Only inside the runtime that would have taken the SQE (outside, the op fails as it would
//!    have), and never while fault injection is on (faults act on SQEs).
//! 7. The cheapest call that cannot block. `preadv2`/`pwritev2` copy an iovec in from user
//!    memory, which on this machine costs about 110 ns more per call than `read`/`write`
//!    (a C loop of 64-byte pipe writes and reads: 613 ns per pair against 830 ns; on a TCP
//!    socket `send`/`recv` save about 250 ns per call). So on a stream (an op at the fd's
//!    own position): a socket is tried with `send`/`recv` and `MSG_DONTWAIT`, which never
//!    blocks whatever the fd's flags; a pipe that was non-blocking (`O_NONBLOCK`) when its
//!    flags were read (rule 4) with `write`/`read`. Everything else (files, blocking pipes,
//!    positional ops) keeps `RWF_NOWAIT`. A pipe made blocking again afterwards (`fcntl`, or
//!    a process sharing its open file description) would make such an attempt block, as it
//!    would every read in tokio, which requires non-blocking fds: keep it non-blocking, or
//!    turn attempts off with [`SharedFd::set_inline_io`].

use crate::driver::SharedFd;
use std::cell::Cell;
use std::io;

/// Inline completions allowed per driver turn (`io_uring_enter`) on one thread (rule 5).
pub(crate) const INLINE_BUDGET: u32 = 128;

/// Consecutive misses after which the skip stops growing: 255 skipped attempts (rule 3).
const MAX_MISSES: u8 = 8;

// The misses fit in their four bits of an `InlineHint`.
const _: () = assert!(MAX_MISSES < 16);

/// Which way the data goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read,
    Write,
}

/// The adaptive state of one direction of one fd (rule 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Backoff {
    misses: u8,
    skip: u8,
    off: bool,
}

impl Backoff {
    /// Whether to attempt now; a skipped attempt uses up one skip.
    fn admit(&mut self) -> bool {
        if self.off {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    fn hit(&mut self) {
        self.misses = 0;
    }

    fn miss(&mut self) {
        self.misses = (self.misses + 1).min(MAX_MISSES);
        self.skip = ((1u16 << self.misses) - 1) as u8;
    }

    /// An attempt failed with `errno`: would block (a miss), or any other error (off).
    fn failed(&mut self, errno: i32) {
        if errno == libc::EAGAIN {
            self.miss();
        } else {
            self.off = true;
        }
    }
}

/// What an fd has shown about inline attempts: kept in its [`SharedFd`].
///
/// Packed in one word, one half per direction ([`Dir::shift`]): the skip count in bits 0-7,
/// the consecutive misses in bits 8-11, "off" in bit 12 and "flags not checked yet" in bit
/// 13. A direction whose half is all zero attempts at once and, on a hit, has nothing to
/// record: the common case is then one load and one test ([`attempt`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InlineHint(u32);

impl InlineHint {
    const SKIP: u32 = 0xff;
    const MISSES_SHIFT: u32 = 8;
    const OFF: u32 = 1 << 12;
    const UNCHECKED: u32 = 1 << 13;
    /// One direction's bits, at shift 0.
    const HALF: u32 = 0x3fff;
    /// The fd is a socket: streams are tried with `send`/`recv` and `MSG_DONTWAIT` (rule 7).
    /// Bits 14 and 15 are the fd's, outside both directions' halves.
    const SOCKET: u32 = 1 << 14;
    /// The fd is a pipe found non-blocking: streams are tried with `write`/`read` (rule 7).
    const NONBLOCKING_PIPE: u32 = 1 << 15;

    /// A hint whose owner has said whether attempts are allowed (rule 4).
    pub(crate) fn decided(reads: bool, writes: bool) -> InlineHint {
        let dir = |on: bool| if on { 0 } else { Self::OFF };
        InlineHint(dir(reads) << Dir::Read.shift() | dir(writes) << Dir::Write.shift())
    }

    /// Whether `dir` attempts now with nothing to record on a hit: flags checked, not off,
    /// no skip and no miss pending.
    #[inline(always)]
    fn ready(self, dir: Dir) -> bool {
        (self.0 >> dir.shift()) & Self::HALF == 0
    }

    /// The fd's flags have not been looked at yet (rule 4).
    fn unchecked(self) -> bool {
        self.0 & Self::UNCHECKED != 0
    }

    /// The hint of an fd whose flags were just read (rule 4): attempts in both directions
    /// unless it is `O_DIRECT`, with a plain call for streams on a socket or a non-blocking
    /// pipe (rule 7).
    fn checked(kind: FdKind) -> InlineHint {
        match kind {
            FdKind::Direct => InlineHint::decided(false, false),
            FdKind::Socket => InlineHint(InlineHint::decided(true, true).0 | Self::SOCKET),
            FdKind::NonblockingPipe => {
                InlineHint(InlineHint::decided(true, true).0 | Self::NONBLOCKING_PIPE)
            }
            FdKind::Other => InlineHint::decided(true, true),
        }
    }

    /// Which call an attempt at the fd's position makes (rule 7).
    #[inline(always)]
    fn stream_call(self) -> Call {
        if self.0 & Self::SOCKET != 0 {
            Call::SendRecv
        } else if self.0 & Self::NONBLOCKING_PIPE != 0 {
            Call::ReadWrite
        } else {
            Call::Vectored
        }
    }

    fn get(self, dir: Dir) -> Backoff {
        let half = (self.0 >> dir.shift()) & Self::HALF;
        Backoff {
            skip: (half & Self::SKIP) as u8,
            misses: (half >> Self::MISSES_SHIFT & 0xf) as u8,
            off: half & Self::OFF != 0,
        }
    }

    fn set(&mut self, dir: Dir, b: Backoff) {
        let half = u32::from(b.skip)
            | u32::from(b.misses) << Self::MISSES_SHIFT
            | if b.off { Self::OFF } else { 0 };
        self.0 = self.0 & !(Self::HALF << dir.shift()) | half << dir.shift();
    }
}

impl Default for InlineHint {
    /// Nothing known yet: the fd's flags are read at its first attempt.
    fn default() -> InlineHint {
        InlineHint(Self::UNCHECKED << Dir::Read.shift() | Self::UNCHECKED << Dir::Write.shift())
    }
}

impl Dir {
    /// Where the direction's half of an [`InlineHint`] starts.
    #[inline(always)]
    const fn shift(self) -> u32 {
        match self {
            Dir::Read => 0,
            Dir::Write => 16,
        }
    }
}

/// What this thread's driver has been doing, as seen by the inline attempts (rules 5 and 6).
/// One `Cell` per field, so a look reads and writes only what it needs.
struct Turn {
    /// The driver it was counted on.
    driver: Cell<u64>,
    /// Its `enters` and `ops_submitted` when last looked at.
    enters: Cell<u64>,
    submitted: Cell<u64>,
    /// Inline completions since `enters` last changed; set to [`INLINE_BUDGET`] at once when
    /// the ring took two SQEs or more per enter since the look before (submissions are
    /// batched, and the ring's cost per op is then below a system call's, rule 5), so one
    /// compare answers both questions.
    used: Cell<u32>,
}

thread_local! {
    static TURN: Turn = const {
        Turn {
            driver: Cell::new(u64::MAX),
            enters: Cell::new(0),
            submitted: Cell::new(0),
            used: Cell::new(0),
        }
    };
}

/// Whether this thread's driver allows an inline completion now (rules 5 and 6): the first
/// question of an inline attempt, asked before anything else of the op is looked at. Spends
/// nothing: [`attempt`] counts the completions. While the ring batches, this is all an
/// op pays: the driver's id and `enters`, and one compare of the turn's budget.
#[inline]
pub(crate) fn allowed() -> bool {
    let now = crate::driver::current::try_with_driver(|d| {
        #[cfg(feature = "fault-injection")]
        if d.faults.is_some() {
            return None;
        }
        Some((d.id, d.stats.enters))
    });
    let Ok(Some((driver, enters))) = now else {
        return false;
    };
    TURN.with(|t| {
        if enters != t.enters.get() || driver != t.driver.get() {
            turn_changed(t, driver, enters);
        }
        t.used.get() < INLINE_BUDGET
    })
}

/// The driver entered the ring since the last look (or is another driver): starts a new
/// budget, used up at once if the ring is batching (rule 5).
#[cold]
#[inline(never)]
fn turn_changed(t: &Turn, driver: u64, enters: u64) {
    // Just read by the caller from the same driver, which nothing has touched since.
    let Ok(submitted) = crate::driver::current::try_with_driver(|d| d.stats.ops_submitted) else {
        return;
    };
    let fresh =
        driver != t.driver.get() || enters < t.enters.get() || submitted < t.submitted.get();
    let batched = !fresh && submitted - t.submitted.get() >= 2 * (enters - t.enters.get());
    t.driver.set(driver);
    t.enters.set(enters);
    t.submitted.set(submitted);
    t.used.set(if batched { INLINE_BUDGET } else { 0 });
}

/// What an fd's flags and type say about inline attempts (rules 4 and 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FdKind {
    /// `O_DIRECT` (or its flags could not be read): no attempts.
    Direct,
    /// A socket: `send`/`recv` with `MSG_DONTWAIT` on streams.
    Socket,
    /// A pipe (FIFO) with `O_NONBLOCK`: `write`/`read` on streams.
    NonblockingPipe,
    /// Anything else (files, blocking pipes, devices): `RWF_NOWAIT`.
    Other,
}

/// Which system call an attempt makes (rule 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// `preadv2`/`pwritev2` with `RWF_NOWAIT`.
    Vectored,
    /// `recvfrom`/`sendto` with `MSG_DONTWAIT`.
    SendRecv,
    /// `read`/`write`, on an fd that is non-blocking.
    ReadWrite,
}

/// Reads `fd`'s flags and type once (`fcntl` and `fstat`); an error counts as direct (no
/// attempts).
fn fd_kind(fd: &SharedFd) -> FdKind {
    // SAFETY: F_GETFL on an fd the SharedFd keeps open; no memory is passed.
    let flags = unsafe { libc::fcntl(fd.raw(), libc::F_GETFL) };
    if flags < 0 || flags & libc::O_DIRECT != 0 {
        return FdKind::Direct;
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a whole `stat` into the buffer on success (checked); the fd is kept
    // open by the SharedFd.
    if unsafe { libc::fstat(fd.raw(), st.as_mut_ptr()) } != 0 {
        return FdKind::Other;
    }
    // SAFETY: fstat succeeded, so it initialised the struct.
    let mode = unsafe { st.assume_init() }.st_mode & libc::S_IFMT;
    match mode {
        libc::S_IFSOCK => FdKind::Socket,
        libc::S_IFIFO if flags & libc::O_NONBLOCK != 0 => FdKind::NonblockingPipe,
        _ => FdKind::Other,
    }
}

/// One read or write of one buffer that cannot block: with `call` (rule 7) on a stream
/// (`offset == u64::MAX`, the fd's own position), else `preadv2`/`pwritev2` with
/// `RWF_NOWAIT`. An error is its errno.
///
/// # Safety
///
/// - `ptr..ptr + len` is valid memory the caller owns for the call: writable for
///   [`Dir::Read`], readable for [`Dir::Write`].
/// - `call` is [`Call::ReadWrite`] only for an fd that is non-blocking.
#[inline(always)]
unsafe fn nowait_io(
    fd: &SharedFd,
    dir: Dir,
    call: Call,
    ptr: *mut u8,
    len: usize,
    offset: u64,
) -> Result<usize, i32> {
    if offset == u64::MAX && call != Call::Vectored {
        // SAFETY: forwarded from the caller.
        return unsafe { stream_io(fd, dir, call, ptr, len) };
    }
    // SAFETY: forwarded from the caller.
    unsafe { vectored_io(fd, dir, ptr, len, offset) }
}

/// The plain calls of rule 7, on a stream: `recvfrom`/`sendto` with `MSG_DONTWAIT`, or
/// `read`/`write` on a non-blocking fd. The system calls themselves, as in [`vectored_io`].
///
/// # Safety
///
/// As [`nowait_io`], with `call` not [`Call::Vectored`].
#[inline(never)]
unsafe fn stream_io(
    fd: &SharedFd,
    dir: Dir,
    call: Call,
    ptr: *mut u8,
    len: usize,
) -> Result<usize, i32> {
    let (fd, buf, len) = (
        fd.raw() as libc::c_long,
        ptr as libc::c_long,
        len as libc::c_long,
    );
    let null = 0 as libc::c_long;
    // A socket is never blocked on with MSG_DONTWAIT, whatever its flags; a `ReadWrite` fd is
    // non-blocking (the caller's contract). The buffer is memory the caller vouches for
    // (writable for a read, readable for a write), the fd is kept open by the SharedFd, and
    // the address arguments of recvfrom/sendto are null (none wanted, none given).
    // SAFETY: the invariants just stated hold here.
    let n = unsafe {
        match (call, dir) {
            (Call::SendRecv, _) => libc::syscall(
                match dir {
                    Dir::Read => libc::SYS_recvfrom,
                    Dir::Write => libc::SYS_sendto,
                },
                fd,
                buf,
                len,
                libc::MSG_DONTWAIT as libc::c_long,
                null,
                null,
            ),
            (_, Dir::Read) => libc::syscall(libc::SYS_read, fd, buf, len),
            (_, Dir::Write) => libc::syscall(libc::SYS_write, fd, buf, len),
        }
    };
    count_or_errno(n)
}

/// A raw system call's return: the count, or its errno.
#[inline(always)]
fn count_or_errno(n: libc::c_long) -> Result<usize, i32> {
    if n < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(n as usize)
    }
}

/// `preadv2`/`pwritev2` of one buffer with `RWF_NOWAIT`; `offset == u64::MAX` means the fd's
/// current position (`-1`). An error is its errno.
///
/// # Safety
///
/// As [`nowait_io`].
unsafe fn vectored_io(
    fd: &SharedFd,
    dir: Dir,
    ptr: *mut u8,
    len: usize,
    offset: u64,
) -> Result<usize, i32> {
    let iov = libc::iovec {
        iov_base: ptr.cast(),
        iov_len: len,
    };
    let off: i64 = if offset == u64::MAX {
        -1
    } else {
        offset as i64
    };
    let nr = match dir {
        Dir::Read => libc::SYS_preadv2,
        Dir::Write => libc::SYS_pwritev2,
    };
    // The system call itself rather than glibc's wrapper, which spends as many instructions
    // again on thread-cancellation bookkeeping that Rust code never uses. The position goes
    // in two halves (low, high); on a 64-bit target the low one holds all of it.
    #[cfg(target_pointer_width = "64")]
    let (lo, hi) = (off as libc::c_long, 0 as libc::c_long);
    #[cfg(not(target_pointer_width = "64"))]
    let (lo, hi) = (off as libc::c_long, (off >> 32) as libc::c_long);
    // Every argument as a full register (`c_long`): the kernel reads whole registers.
    // One iovec over memory the caller vouches for (this fn's contract), readable for
    // a write and writable for a read; the fd is kept open by the SharedFd; RWF_NOWAIT makes
    // the call return instead of blocking.
    // SAFETY: the invariants just stated hold here.
    let n = unsafe {
        libc::syscall(
            nr,
            fd.raw() as libc::c_long,
            &iov as *const libc::iovec,
            1 as libc::c_long,
            lo,
            hi,
            libc::RWF_NOWAIT as libc::c_long,
        )
    };
    count_or_errno(n)
}

/// Tries one read at once, once [`allowed`] said yes: as [`attempt`] for [`Dir::Read`].
///
/// # Safety
///
/// As [`attempt`]: `ptr..ptr + len` is writable memory the caller owns for the call.
#[inline(never)]
pub(crate) unsafe fn attempt_read(
    fd: &SharedFd,
    ptr: *mut u8,
    len: usize,
    offset: u64,
) -> Option<usize> {
    // SAFETY: the caller's contract is this function's, for a read.
    unsafe { attempt(fd, Dir::Read, ptr, len, offset) }
}

/// Tries one write at once, once [`allowed`] said yes: as [`attempt`] for [`Dir::Write`].
///
/// # Safety
///
/// As [`attempt`]: `ptr..ptr + len` is readable memory the caller owns for the call.
#[inline(never)]
pub(crate) unsafe fn attempt_write(
    fd: &SharedFd,
    ptr: *const u8,
    len: usize,
    offset: u64,
) -> Option<usize> {
    // SAFETY: the caller's contract is this function's, for a write (the kernel only reads
    // through the pointer).
    unsafe { attempt(fd, Dir::Write, ptr.cast_mut(), len, offset) }
}

/// Tries one read or write at once: `Some(n)` when `n` bytes moved (`0` is end of file for a
/// read), `None` when the op must go to the ring (nothing to move, not admitted by the fd,
/// would block, or failed: the ring then reports the error, rule 2).
///
/// Called through [`attempt_read`] and [`attempt_write`], out of line: [`allowed`], called
/// first, is all a batching ring pays. The common case (the fd's direction ready, a hit) reads
/// the hint once, writes nothing to it and counts a completion against the turn's budget
/// (rule 5); everything else (first look at the flags, a skip, a miss, an error) is in
/// [`attempt_slow`] and [`failed`], which read and write the hint once: nothing else touches
/// it during the call.
///
/// # Safety
///
/// As [`nowait_io`]: `ptr..ptr + len` is valid for the transfer in direction `dir`.
#[inline(always)]
unsafe fn attempt(fd: &SharedFd, dir: Dir, ptr: *mut u8, len: usize, offset: u64) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let cell = fd.inline_hint();
    let h = cell.get();
    if !h.ready(dir) {
        // SAFETY: the caller's contract is this function's.
        return unsafe { attempt_slow(fd, dir, ptr, len, offset) };
    }
    // SAFETY: the caller's contract is this function's; the hint says `ReadWrite` only for
    // a pipe found non-blocking (rule 7).
    match unsafe { nowait_io(fd, dir, h.stream_call(), ptr, len, offset) } {
        Ok(n) => {
            // A ready direction has no miss to forget: the hint stays as it is.
            TURN.with(|t| t.used.set(t.used.get() + 1));
            Some(n)
        }
        Err(errno) => {
            failed(cell, dir, errno);
            None
        }
    }
}

/// The attempt of a direction that is not ready (see [`attempt`]): checks the fd's flags the
/// first time (rule 4), uses up a skip or makes the call (rule 3), and records the outcome.
///
/// # Safety
///
/// As [`attempt`].
#[cold]
#[inline(never)]
unsafe fn attempt_slow(
    fd: &SharedFd,
    dir: Dir,
    ptr: *mut u8,
    len: usize,
    offset: u64,
) -> Option<usize> {
    let cell = fd.inline_hint();
    let mut h = cell.get();
    if h.unchecked() {
        h = InlineHint::checked(fd_kind(fd));
    }
    let mut b = h.get(dir);
    let out = if !b.admit() {
        None
    } else {
        // SAFETY: the caller's contract is this function's; as in `attempt` for the call.
        match unsafe { nowait_io(fd, dir, h.stream_call(), ptr, len, offset) } {
            Ok(n) => {
                b.hit();
                TURN.with(|t| t.used.set(t.used.get() + 1));
                Some(n)
            }
            Err(errno) => {
                b.failed(errno);
                None
            }
        }
    };
    h.set(dir, b);
    cell.set(h);
    out
}

/// A ready direction's call failed with `errno`: records a miss or turns the direction off
/// (rules 2 and 3).
#[cold]
#[inline(never)]
fn failed(cell: &Cell<InlineHint>, dir: Dir, errno: i32) {
    let mut h = cell.get();
    let mut b = h.get(dir);
    b.failed(errno);
    h.set(dir, b);
    cell.set(h);
}

/// Whether a positional read that returned `n` of `asked` bytes at `offset` is certainly
/// complete, as the ring's read would have been: a full count, end of file (`0`), a stream
/// (`offset == u64::MAX`: a short read is what the ring would return too), or a short count
/// ending inside a page. A read stopped by a page-cache miss ends on a page boundary; one that
/// ends there may also be end of file, and the rest then goes to the ring to find out.
pub(crate) fn read_is_complete(n: usize, asked: usize, offset: u64) -> bool {
    n == asked || n == 0 || offset == u64::MAX || (offset + n as u64) % 4096 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_back_off_exponentially_and_a_hit_resets() {
        let mut b = Backoff::default();
        assert!(b.admit());
        b.miss();
        assert!(!b.admit(), "one skip after the first miss");
        assert!(b.admit());
        b.miss();
        let skipped = (0..10).take_while(|_| !b.admit()).count();
        assert_eq!(skipped, 3);
        for _ in 0..20 {
            b.miss();
        }
        let skipped = (0..1000).take_while(|_| !b.admit()).count();
        assert_eq!(skipped, 255, "capped");
        b.hit();
        b.miss();
        assert_eq!((0..10).take_while(|_| !b.admit()).count(), 1);
    }

    #[test]
    fn off_stays_off() {
        let h = InlineHint::decided(false, false);
        assert!(!h.get(Dir::Read).admit());
        assert!(!h.get(Dir::Write).admit());
        let h = InlineHint::decided(true, false);
        assert!(h.ready(Dir::Read) && !h.ready(Dir::Write));
        assert!(h.get(Dir::Read).admit());
        assert!(!h.get(Dir::Write).admit());
    }

    #[test]
    fn hint_packs_both_directions() {
        let mut h = InlineHint::default();
        assert!(h.unchecked() && !h.ready(Dir::Read) && !h.ready(Dir::Write));
        h = InlineHint::decided(true, true);
        assert!(!h.unchecked() && h.ready(Dir::Read) && h.ready(Dir::Write));
        let mut b = h.get(Dir::Write);
        for _ in 0..20 {
            b.miss();
        }
        b.skip -= 3;
        h.set(Dir::Write, b);
        assert_eq!(h.get(Dir::Write), b);
        assert_eq!(h.get(Dir::Read), Backoff::default());
        assert!(h.ready(Dir::Read) && !h.ready(Dir::Write));
        let mut r = h.get(Dir::Read);
        r.failed(libc::EOPNOTSUPP);
        h.set(Dir::Read, r);
        assert!(h.get(Dir::Read).off && !h.get(Dir::Write).off);
        assert_eq!(h.get(Dir::Write), b);
        b.hit();
        b.skip = 0;
        h.set(Dir::Write, b);
        assert!(h.ready(Dir::Write));
    }

    /// Rule 7's choice of call, from what the fd is: sockets always, pipes only non-blocking,
    /// files never; the kind bits survive the directions' updates.
    #[test]
    fn fd_kinds_pick_the_call() {
        use std::os::fd::{FromRawFd, OwnedFd};
        let kind = |fd: OwnedFd| fd_kind(&SharedFd::new(fd));
        let pipe = |flags: i32| {
            let mut fds = [0i32; 2];
            // SAFETY: pipe2 writes two fds into the array on success.
            assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), flags) }, 0);
            // SAFETY: fresh fds, owned here.
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
        };
        let (r, _w) = pipe(libc::O_CLOEXEC);
        assert_eq!(kind(r), FdKind::Other, "a blocking pipe keeps RWF_NOWAIT");
        let (r, w) = pipe(libc::O_CLOEXEC | libc::O_NONBLOCK);
        assert_eq!(kind(r), FdKind::NonblockingPipe);
        assert_eq!(kind(w), FdKind::NonblockingPipe);
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(kind(a.into()), FdKind::Socket);
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        assert_eq!(kind(file.into()), FdKind::Other);

        let mut h = InlineHint::checked(FdKind::Socket);
        assert_eq!(h.stream_call(), Call::SendRecv);
        assert!(h.ready(Dir::Read) && h.ready(Dir::Write));
        let mut b = h.get(Dir::Read);
        b.miss();
        h.set(Dir::Read, b);
        assert!(!h.ready(Dir::Read));
        assert_eq!(
            h.stream_call(),
            Call::SendRecv,
            "kept across a direction's update"
        );
        b.hit();
        b.skip = 0;
        h.set(Dir::Read, b);
        assert!(h.ready(Dir::Read));
        assert_eq!(
            InlineHint::checked(FdKind::NonblockingPipe).stream_call(),
            Call::ReadWrite
        );
        assert_eq!(
            InlineHint::checked(FdKind::Other).stream_call(),
            Call::Vectored
        );
        let d = InlineHint::checked(FdKind::Direct);
        assert!(!d.get(Dir::Read).admit() && !d.get(Dir::Write).admit());
    }

    #[test]
    fn completeness_of_short_reads() {
        assert!(read_is_complete(4096, 4096, 0));
        assert!(read_is_complete(0, 4096, 8192));
        assert!(read_is_complete(100, 4096, 0), "ends mid-page: end of file");
        assert!(
            !read_is_complete(4096, 8192, 0),
            "ends on a page: may be a miss"
        );
        assert!(!read_is_complete(3000, 8192, 1096));
        assert!(
            read_is_complete(10, 64, u64::MAX),
            "streams take short counts"
        );
    }
}
