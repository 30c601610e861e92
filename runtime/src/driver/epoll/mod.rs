//! The fallback driver: the same SQEs and CQEs as io_uring, run with `epoll` and non-blocking
//! system calls where io_uring is forbidden or missing.
//!
//! Every op still builds its io_uring SQE; instead of a ring, the [`Driver`](super::Driver)
//! hands it to [`Epoll::submit`], which reads it back ([`sqe::RawSqe`]) and runs it:
//! - **Sockets, pipes, eventfds** (readiness): the system call is tried at once without
//!   blocking (`MSG_DONTWAIT`, `RWF_NOWAIT`, or `O_NONBLOCK` for `accept`/`connect`). On
//!   `EAGAIN` the op parks on its fd, which is registered once, edge-triggered, for reads and
//!   writes; each edge retries the fd's parked ops in order until one would block again.
//! - **Regular files and block devices**: reads and writes first try `RWF_NOWAIT` (data in the
//!   page cache comes back at once); otherwise they, and `fsync`, `openat`, `statx`, renames and
//!   the other path ops, run on the runtime's blocking thread pool, the way `tokio::fs` works.
//! - **The driver's own ops**: `NOP`, `TIMEOUT` (a deadline heap that bounds `epoll_wait`),
//!   `ASYNC_CANCEL`, `CLOSE`, `SOCKET`, `SHUTDOWN` run inline.
//!
//! Results come back as CQEs (`user_data`, `res`, `flags`) through the driver's usual
//! dispatch, so op storage, cancellation and orphan release are the io_uring driver's.
//!
//! Rules:
//! 1. An op's memory is used by a system call only while the op is in flight: inline during
//!    `submit` or a retry, or on a pool thread before its CQE is posted. The driver keeps the
//!    op's state until that CQE is reaped (op.rs rules 1-2), exactly as for the kernel.
//! 2. Parked ops wait in FIFO lists per fd and direction; a new op on a direction that has
//!    waiters queues behind them without trying, so a stream's bytes keep their order.
//! 3. A parked op leaves its list only with its final CQE (completion or cancellation). An op
//!    on the pool cannot be cancelled (`EALREADY`, as io_uring says for work already running);
//!    its CQE comes when the call returns.
//! 4. Registration is remembered per fd and forgotten when the fd is closed. A close the
//!    driver could not see (a socket dropped outside the runtime) bumps a thread-wide counter;
//!    the driver then re-checks each registration on its next use (`EEXIST` means still valid).
//! 5. Multishot ops (accept, recv with provided buffers, poll) post items with `F_MORE` and end
//!    with a CQE without it, as the kernel does; provided buffers are taken from the same
//!    buffer ring memory the kernel would read.
//! 6. A short receive on a TCP socket drained its queue: the next receive parks without trying
//!    (saving the `EAGAIN` call, as tokio does) until a readable edge. Once an edge said the
//!    peer closed or the socket failed, no edge may follow, so receives always try again.

pub(crate) mod sqe;

use io_uring::opcode;
use slab::Slab;
use sqe::*;
use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A CQE as the fallback driver posts it: `user_data`, `res`, `flags`.
pub(crate) type Cqe = (u64, i32, u32);

const NIL: u32 = u32::MAX;

thread_local! {
    /// Closes of fds this thread's drivers could not be told about (rule 4).
    static UNSEEN_CLOSES: Cell<u64> = const { Cell::new(0) };
}

/// Records that an fd was closed or given away while no driver could be told (rule 4).
pub(crate) fn unseen_close() {
    UNSEEN_CLOSES.with(|c| c.set(c.get().wrapping_add(1)));
}

#[derive(Clone, Copy, Default)]
struct List {
    head: u32,
    tail: u32,
}

impl List {
    const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Read,
    Write,
    Poll,
}

/// What the driver knows about one fd (valid while `gen` equals the driver's `gen`).
#[derive(Clone, Copy)]
struct FdState {
    gen: u32,
    /// Registered with the epoll instance (edge-triggered, in and out).
    registered: bool,
    /// A regular file or block device (epoll refused it): blocking work goes to the pool.
    regular: bool,
    /// `O_NONBLOCK` was set by this driver (for `accept`, `connect`, or reads and writes where
    /// `RWF_NOWAIT` is refused).
    nonblock: bool,
    /// `RWF_NOWAIT` is refused on this fd (`EOPNOTSUPP`): use plain calls on `O_NONBLOCK`.
    no_nowait: bool,
    /// Not seekable (`ESPIPE`): the SQE's offset is ignored, as io_uring ignores it for
    /// pipes, sockets and eventfds.
    stream: bool,
    /// A stream socket's receive queue may hold data: false after a short receive drained
    /// it, true again at the next readable edge (a receive then parks without trying first).
    read_ready: bool,
    /// The peer closed or the socket failed (an edge with `EPOLLRDHUP`, `EPOLLHUP` or
    /// `EPOLLERR`): no edge follows, so `read_ready` stays set from then on.
    read_closed: bool,
    /// `SO_TYPE` is `SOCK_STREAM` (read once, at its first receive).
    stream_sock: Option<bool>,
    /// Whether the fd was opened with `O_DIRECT` (read once, at its first read or write):
    /// `RWF_NOWAIT` does not keep such reads off the device, so they go to the pool at once.
    direct: Option<bool>,
    read: List,
    write: List,
    poll: List,
}

impl FdState {
    const NEW: FdState = FdState {
        gen: 0,
        registered: false,
        regular: false,
        nonblock: false,
        no_nowait: false,
        stream: false,
        read_ready: true,
        read_closed: false,
        stream_sock: None,
        direct: None,
        read: List::EMPTY,
        write: List::EMPTY,
        poll: List::EMPTY,
    };
}

/// What [`Epoll::begin`] did with a single-shot op that has no key yet.
pub(crate) enum Begin {
    /// It completed at once: its CQE `res` and flags. Nothing is in flight.
    Done(i32, u32),
    /// It must wait for readiness: give it a key and call [`Epoll::park_new`].
    Park(Parked),
    /// It is blocking work: give it a key and call [`Epoll::pool_new`].
    Pool(RawSqe),
    /// Not an op `begin` handles: give it a key and call [`Epoll::submit`].
    Other,
}

/// A parked op.
#[derive(Clone, Copy)]
pub(crate) struct Parked {
    sqe: RawSqe,
    dir: Dir,
    next: u32,
    /// Bytes already moved by a `MSG_WAITALL` send or receive.
    progress: u32,
    /// A non-blocking `connect` is under way: the next edge reads `SO_ERROR`.
    connecting: bool,
}

/// Where an op that has not completed is.
#[derive(Clone, Copy)]
enum Where {
    Parked(u32),
    Pool,
    Timer,
}

/// What one attempt of an op did.
enum Step {
    /// The final CQE.
    Done(i32, u32),
    /// An item of a multishot op (posted with `F_MORE`); try again.
    Item(i32, u32),
    /// Would block: park (or stay parked) in this direction.
    Again(Dir),
    /// Blocking work: run it on the pool.
    Pool,
}

/// Completions of ops run on the blocking pool, posted from its threads.
struct PoolDone {
    cqes: Mutex<Vec<Cqe>>,
    any: AtomicBool,
    /// A duplicate of the core's wake eventfd, owned here so a pool thread never writes to an
    /// fd number that was closed and reused.
    wake: OwnedFd,
}

impl PoolDone {
    fn post(&self, cqe: Cqe) {
        self.cqes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cqe);
        self.any.store(true, Ordering::Release);
        let one: u64 = 1;
        // Writes 8 bytes from a live u64 to an eventfd this struct owns. A failure
        // (counter overflow, impossible in practice) only delays the completion to the next
        // turn, which looks at `any`.
        // SAFETY: the invariants just stated hold here.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

/// A provided-buffer ring registered with this driver: the same memory the kernel would read.
struct BufRingView {
    base: *const u8,
    entries: u16,
    /// Entries taken so far (the kernel's private head).
    head: u16,
}

/// Multiplies the key (an op's slab index and generation) into a spread hash; keys are unique,
/// so no stronger hash is needed.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100000001b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type KeyMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// The epoll fallback driver of one core.
pub(crate) struct Epoll {
    epfd: OwnedFd,
    fds: Vec<FdState>,
    gen: u32,
    seen_closes: u64,
    parked: Slab<Parked>,
    index: KeyMap<Where>,
    /// CQEs posted and not yet reaped.
    pub(crate) cqes: Vec<Cqe>,
    pool: Arc<PoolDone>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    events: Vec<libc::epoll_event>,
    buf_rings: HashMap<u16, BufRingView>,
    /// A fixed-buffer table is registered (one per driver, as one per ring).
    pub(crate) fixed_buffers: Cell<bool>,
    pwait2: bool,
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `res` of a system call returning -1 and errno.
fn res(r: isize) -> i32 {
    if r < 0 {
        -errno()
    } else {
        r.min(i32::MAX as isize) as i32
    }
}

impl Epoll {
    /// A new epoll instance; `wake_fd` is the core's eventfd (duplicated for the pool).
    pub(crate) fn new(wake_fd: RawFd) -> io::Result<Epoll> {
        // SAFETY: plain syscall; the result is checked before being owned.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `epfd` is a new fd nobody else owns.
        let epfd = unsafe { OwnedFd::from_raw_fd(epfd) };
        // SAFETY: duplicating an open fd; the result is checked before being owned.
        let wake = unsafe { libc::fcntl(wake_fd, libc::F_DUPFD_CLOEXEC, 0) };
        if wake < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `wake` is a new fd nobody else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        Ok(Epoll {
            epfd,
            fds: Vec::new(),
            gen: 1,
            seen_closes: UNSEEN_CLOSES.with(Cell::get),
            parked: Slab::with_capacity(64),
            index: KeyMap::default(),
            cqes: Vec::with_capacity(64),
            pool: Arc::new(PoolDone {
                cqes: Mutex::new(Vec::new()),
                any: AtomicBool::new(false),
                wake,
            }),
            timers: BinaryHeap::new(),
            events: Vec::with_capacity(256),
            buf_rings: HashMap::new(),
            fixed_buffers: Cell::new(false),
            pwait2: true,
        })
    }

    /// Opcodes this driver runs.
    pub(crate) fn is_supported(opcode: u8) -> bool {
        matches!(
            opcode,
            opcode::Nop::CODE
                | opcode::Read::CODE
                | opcode::Write::CODE
                | opcode::Readv::CODE
                | opcode::Writev::CODE
                | opcode::ReadFixed::CODE
                | opcode::WriteFixed::CODE
                | opcode::Fsync::CODE
                | opcode::Fallocate::CODE
                | opcode::Ftruncate::CODE
                | opcode::OpenAt::CODE
                | opcode::Statx::CODE
                | opcode::RenameAt::CODE
                | opcode::UnlinkAt::CODE
                | opcode::MkDirAt::CODE
                | opcode::SymlinkAt::CODE
                | opcode::LinkAt::CODE
                | opcode::Close::CODE
                | opcode::Accept::CODE
                | opcode::Connect::CODE
                | opcode::Recv::CODE
                | opcode::RecvMsg::CODE
                | opcode::Send::CODE
                | opcode::SendMsg::CODE
                | opcode::SendZc::CODE
                | opcode::Shutdown::CODE
                | opcode::Socket::CODE
                | opcode::Splice::CODE
                | opcode::Timeout::CODE
                | opcode::PollAdd::CODE
                | opcode::AsyncCancel::CODE
        )
    }

    #[inline]
    fn post(&mut self, ud: u64, res: i32, flags: u32) {
        self.cqes.push((ud, res, flags));
    }

    #[inline]
    fn state(&mut self, fd: RawFd) -> &mut FdState {
        let i = fd as usize;
        if i >= self.fds.len() {
            self.fds.resize(i + 1, FdState::NEW);
        }
        let gen = self.gen;
        let st = &mut self.fds[i];
        if st.gen != gen {
            // Unknown fd, or one whose registration may be stale (rule 4): keep only the
            // waiters (their ops hold the fd open, so it is the same file); `register` checks
            // the registration again (EEXIST keeps it).
            *st = FdState {
                gen,
                read: st.read,
                write: st.write,
                poll: st.poll,
                ..FdState::NEW
            };
        }
        st
    }

    /// The fd `fd` was closed or given away: forget what is known about it.
    pub(crate) fn forget_fd(&mut self, fd: RawFd) {
        let Some(st) = self.fds.get_mut(fd as usize) else {
            return;
        };
        if st.registered {
            // SAFETY: plain syscall on our epoll fd; a closed fd just fails (nothing to undo).
            unsafe {
                libc::epoll_ctl(
                    self.epfd.as_raw_fd(),
                    libc::EPOLL_CTL_DEL,
                    fd,
                    std::ptr::null_mut(),
                )
            };
        }
        debug_assert!(st.read.head == NIL && st.write.head == NIL && st.poll.head == NIL);
        *st = FdState::NEW;
    }

    /// Registers `fd` (edge-triggered, both directions) unless it is. `Err(EPERM)` for regular
    /// files and block devices, which epoll refuses.
    fn register(&mut self, fd: RawFd) -> Result<(), i32> {
        self.check_unseen_closes();
        let epfd = self.epfd.as_raw_fd();
        let st = self.state(fd);
        if st.registered {
            return Ok(());
        }
        if st.regular {
            return Err(libc::EPERM);
        }
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: fd as u64,
        };
        // SAFETY: plain syscall with a live event struct.
        let r = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
        let e = if r < 0 { errno() } else { 0 };
        let st = self.state(fd);
        match e {
            0 | libc::EEXIST => {
                st.registered = true;
                Ok(())
            }
            libc::EPERM => {
                st.regular = true;
                Err(libc::EPERM)
            }
            e => Err(e),
        }
    }

    /// Rule 4: after closes this driver could not see, nothing known per fd is trusted.
    #[inline]
    fn check_unseen_closes(&mut self) {
        let closes = UNSEEN_CLOSES.with(Cell::get);
        if closes != self.seen_closes {
            self.seen_closes = closes;
            self.gen = self.gen.wrapping_add(1).max(1);
        }
    }

    fn set_nonblock(&mut self, fd: RawFd) {
        let st = self.state(fd);
        if st.nonblock {
            return;
        }
        st.nonblock = true;
        // SAFETY: plain fcntl calls on an fd an op in flight holds open.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            if fl >= 0 && fl & libc::O_NONBLOCK == 0 {
                libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
            }
        }
    }

    // ---- submission ----------------------------------------------------------------------

    /// Runs or parks one SQE.
    pub(crate) fn submit(&mut self, entry: &io_uring::squeue::Entry) {
        self.check_unseen_closes();
        let s = RawSqe::of(entry);
        let ud = s.user_data;
        match s.opcode {
            opcode::Nop::CODE => self.post(ud, 0, 0),
            opcode::AsyncCancel::CODE => self.cancel(&s),
            opcode::Timeout::CODE => self.timeout(&s),
            opcode::Close::CODE => {
                if s.file_index != 0 || s.flags & IOSQE_FIXED_FILE != 0 {
                    self.post(ud, -libc::EBADF, 0);
                    return;
                }
                self.forget_fd(s.fd);
                // SAFETY: the close op owns the fd (SharedFd rule 2: no other holder is left).
                let r = unsafe { libc::close(s.fd) };
                self.post(ud, if r < 0 { -errno() } else { 0 }, 0);
            }
            opcode::Socket::CODE => {
                if s.file_index != 0 {
                    self.post(ud, -libc::EOPNOTSUPP, 0);
                    return;
                }
                // SAFETY: plain syscall.
                let r = unsafe { libc::socket(s.fd, s.off as i32, s.len as i32) };
                self.post(ud, res(r as isize), 0);
            }
            opcode::Shutdown::CODE => {
                // SAFETY: plain syscall on an fd the op holds open.
                let r = unsafe { libc::shutdown(s.fd, s.len as i32) };
                self.post(ud, res(r as isize), 0);
            }
            opcode::Fsync::CODE
            | opcode::Fallocate::CODE
            | opcode::Ftruncate::CODE
            | opcode::OpenAt::CODE
            | opcode::Statx::CODE
            | opcode::RenameAt::CODE
            | opcode::UnlinkAt::CODE
            | opcode::MkDirAt::CODE
            | opcode::SymlinkAt::CODE
            | opcode::LinkAt::CODE
            | opcode::Splice::CODE => {
                if s.file_index != 0 && s.opcode == opcode::OpenAt::CODE {
                    self.post(ud, -libc::EOPNOTSUPP, 0);
                    return;
                }
                self.send_to_pool(s)
            }
            _ if !Self::is_supported(s.opcode) || s.flags & IOSQE_FIXED_FILE != 0 => {
                self.post(ud, -libc::EOPNOTSUPP, 0)
            }
            // Every op below indexes the per-fd table.
            _ if s.fd < 0 => self.post(ud, -libc::EBADF, 0),
            _ => {
                let mut p = Parked {
                    sqe: s,
                    dir: Dir::Read,
                    next: NIL,
                    progress: 0,
                    connecting: false,
                };
                let dir = dir_of(&s);
                // Rule 2: behind earlier waiters in the same direction, without trying.
                if self.has_waiters(s.fd, dir) {
                    p.dir = dir;
                    self.park(p);
                    return;
                }
                self.run_new(p);
            }
        }
    }

    /// Starts a single-shot socket, pipe or file read or write before it has a key: the common
    /// op runs its system call here and, when that completes it, never touches the driver's
    /// slab (the caller's fast path).
    #[inline]
    pub(crate) fn begin(&mut self, entry: &io_uring::squeue::Entry) -> Begin {
        let s = RawSqe::of(entry);
        match s.opcode {
            opcode::Recv::CODE
            | opcode::Send::CODE
            | opcode::Read::CODE
            | opcode::Write::CODE
            | opcode::Readv::CODE
            | opcode::Writev::CODE
            | opcode::RecvMsg::CODE
            | opcode::SendMsg::CODE
                if s.flags & (IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT) == 0 => {}
            _ => return Begin::Other,
        }
        if s.fd < 0 {
            return Begin::Done(-libc::EBADF, 0);
        }
        let dir = dir_of(&s);
        let mut p = Parked {
            sqe: s,
            dir,
            next: NIL,
            progress: 0,
            connecting: false,
        };
        if self.has_waiters(s.fd, dir) {
            // Rule 2: behind earlier waiters, without trying.
            return Begin::Park(p);
        }
        // An fd number closed unseen and reused must not inherit the old socket's state.
        self.check_unseen_closes();
        if s.opcode == opcode::Recv::CODE
            && self
                .fds
                .get(s.fd as usize)
                .is_some_and(|st| st.gen == self.gen && st.registered && !st.read_ready)
        {
            // A short receive drained the stream's queue and no edge came since: it would
            // only say EAGAIN (rule 6).
            return Begin::Park(p);
        }
        match self.attempt(&mut p) {
            Step::Done(r, f) | Step::Item(r, f) => Begin::Done(r, f),
            Step::Again(dir) => {
                p.dir = dir;
                Begin::Park(p)
            }
            Step::Pool => Begin::Pool(p.sqe),
        }
    }

    /// Parks an op [`begin`](Self::begin) could not complete, under `key`.
    pub(crate) fn park_new(&mut self, mut p: Parked, key: u64) {
        p.sqe.user_data = key;
        match self.register(p.sqe.fd) {
            Ok(()) => self.park(p),
            Err(libc::EPERM) => self.send_to_pool(p.sqe),
            Err(e) => self.post(key, -e, 0),
        }
    }

    /// Runs blocking work [`begin`](Self::begin) found on the pool, under `key`.
    pub(crate) fn pool_new(&mut self, mut s: RawSqe, key: u64) {
        s.user_data = key;
        self.send_to_pool(s);
    }

    /// Whether `fd` is a TCP socket (asked once per fd): its receive drains the queue, so a
    /// short one means the next would block. (Not Unix streams: a read stops early where the
    /// sender's credentials change.)
    fn is_stream_socket(&mut self, fd: RawFd) -> bool {
        if let Some(v) = self.state(fd).stream_sock {
            return v;
        }
        let v = sockopt_int(fd, libc::SO_TYPE) == Ok(libc::SOCK_STREAM)
            && matches!(
                sockopt_int(fd, libc::SO_DOMAIN),
                Ok(libc::AF_INET) | Ok(libc::AF_INET6)
            );
        self.state(fd).stream_sock = Some(v);
        v
    }

    fn has_waiters(&self, fd: RawFd, dir: Dir) -> bool {
        match self.fds.get(fd as usize) {
            Some(st) => match dir {
                Dir::Read => st.read.head != NIL,
                Dir::Write => st.write.head != NIL,
                Dir::Poll => false,
            },
            None => false,
        }
    }

    /// First attempt of a new op.
    fn run_new(&mut self, mut p: Parked) {
        loop {
            match self.attempt(&mut p) {
                Step::Done(r, f) => return self.finish(&p.sqe, r, f),
                Step::Item(r, f) => self.post(p.sqe.user_data, r, f | CQE_F_MORE),
                Step::Again(dir) => {
                    match self.register(p.sqe.fd) {
                        Ok(()) => {}
                        Err(libc::EPERM) => return self.send_to_pool(p.sqe),
                        Err(e) => return self.finish(&p.sqe, -e, 0),
                    }
                    if dir == Dir::Poll {
                        // Readiness now, after registering: an edge from here on is seen.
                        match poll_now(p.sqe.fd, p.sqe.op_flags) {
                            0 => {}
                            ev if p.sqe.len & POLL_ADD_MULTI != 0 => {
                                self.post(p.sqe.user_data, ev, CQE_F_MORE)
                            }
                            ev => return self.post(p.sqe.user_data, ev, 0),
                        }
                    }
                    p.dir = dir;
                    self.park(p);
                    return;
                }
                Step::Pool => return self.send_to_pool(p.sqe),
            }
        }
    }

    /// Posts an op's final CQE (two for SEND_ZC: the result, then the notification).
    fn finish(&mut self, s: &RawSqe, r: i32, f: u32) {
        if s.opcode == opcode::SendZc::CODE {
            self.post(s.user_data, r, f | CQE_F_MORE);
            self.post(s.user_data, 0, CQE_F_NOTIF);
        } else {
            self.post(s.user_data, r, f);
        }
    }

    fn park(&mut self, p: Parked) {
        let (fd, dir, ud) = (p.sqe.fd, p.dir, p.sqe.user_data);
        let idx = self.parked.insert(p) as u32;
        self.index.insert(ud, Where::Parked(idx));
        let st = self.state(fd);
        let list = match dir {
            Dir::Read => &mut st.read,
            Dir::Write => &mut st.write,
            Dir::Poll => &mut st.poll,
        };
        let tail = std::mem::replace(&mut list.tail, idx);
        if tail == NIL {
            list.head = idx;
        } else {
            self.parked[tail as usize].next = idx;
        }
    }

    /// Removes parked op `idx` from its fd's list.
    fn unlink(&mut self, idx: u32) -> Parked {
        let (fd, dir) = {
            let p = &self.parked[idx as usize];
            (p.sqe.fd, p.dir)
        };
        let st = &mut self.fds[fd as usize];
        let list = match dir {
            Dir::Read => &mut st.read,
            Dir::Write => &mut st.write,
            Dir::Poll => &mut st.poll,
        };
        let mut prev = NIL;
        let mut cur = list.head;
        while cur != NIL && cur != idx {
            prev = cur;
            cur = self.parked[cur as usize].next;
        }
        debug_assert_eq!(cur, idx, "a parked op is in its fd's list");
        let next = self.parked[idx as usize].next;
        if prev == NIL {
            list.head = next;
        } else {
            self.parked[prev as usize].next = next;
        }
        if list.tail == idx {
            list.tail = prev;
        }
        self.parked.remove(idx as usize)
    }

    fn send_to_pool(&mut self, s: RawSqe) {
        self.index.insert(s.user_data, Where::Pool);
        let done = self.pool.clone();
        crate::executor::blocking::run(Box::new(move || {
            let (r, f) = blocking(&s);
            if s.opcode == opcode::SendZc::CODE {
                done.post((s.user_data, r, f | CQE_F_MORE));
                done.post((s.user_data, 0, CQE_F_NOTIF));
            } else {
                done.post((s.user_data, r, f));
            }
        }));
    }

    fn timeout(&mut self, s: &RawSqe) {
        if s.off != 0 || s.op_flags != 0 || s.addr == 0 {
            // Completion-count and absolute timeouts are not used by ringbolt's ops.
            return self.post(s.user_data, -libc::EINVAL, 0);
        }
        // SAFETY: a TIMEOUT SQE's addr points at the op's `__kernel_timespec`, alive while the
        // op is in flight (rule 1); read once, now.
        let ts = unsafe { std::ptr::read_unaligned(s.addr as *const [i64; 2]) };
        let d = Duration::new(ts[0].max(0) as u64, ts[1].clamp(0, 999_999_999) as u32);
        let at = Instant::now() + d;
        self.index.insert(s.user_data, Where::Timer);
        self.timers.push(Reverse((at, s.user_data)));
    }

    fn cancel(&mut self, s: &RawSqe) {
        let ud = s.user_data;
        if s.op_flags & (CANCEL_ANY | CANCEL_FD) != 0 {
            let fd_only = s.op_flags & CANCEL_ANY == 0;
            let keys: Vec<u64> = self
                .index
                .iter()
                .filter(|(_, w)| match w {
                    Where::Parked(i) => !fd_only || self.parked[*i as usize].sqe.fd == s.fd,
                    Where::Timer => !fd_only,
                    Where::Pool => false,
                })
                .map(|(k, _)| *k)
                .collect();
            let n = keys.len() as i32;
            for k in keys {
                self.cancel_one(k);
            }
            return self.post(ud, if n == 0 { -libc::ENOENT } else { n }, 0);
        }
        let r = self.cancel_one(s.addr);
        self.post(ud, r, 0);
    }

    /// Cancels op `key`: 0 when cancelled, `-EALREADY` when it runs on the pool, `-ENOENT`
    /// when it is not in flight here.
    fn cancel_one(&mut self, key: u64) -> i32 {
        match self.index.get(&key).copied() {
            Some(Where::Parked(idx)) => {
                self.index.remove(&key);
                let p = self.unlink(idx);
                if p.progress > 0 {
                    // Bytes already moved are the op's result, as io_uring reports them.
                    self.finish(&p.sqe, p.progress as i32, 0);
                } else {
                    self.finish(&p.sqe, -libc::ECANCELED, 0);
                }
                0
            }
            Some(Where::Timer) => {
                self.index.remove(&key);
                self.post(key, -libc::ECANCELED, 0);
                0
            }
            Some(Where::Pool) => -libc::EALREADY,
            None => -libc::ENOENT,
        }
    }

    // ---- waiting -------------------------------------------------------------------------

    /// Whether a completion is already waiting to be reaped (then the turn must not sleep).
    pub(crate) fn has_completions(&self) -> bool {
        !self.cqes.is_empty() || self.pool.any.load(Ordering::Acquire)
    }

    /// One `epoll_wait`: sleeps up to `timeout` when `wait` (forever with `None`), then runs the
    /// parked ops whose fds became ready, fires due timeouts and collects pool completions.
    pub(crate) fn wait(&mut self, wait: bool, timeout: Option<Duration>) -> io::Result<()> {
        let now = Instant::now();
        let mut timeout = if wait && !self.has_completions() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        if let Some(Reverse((at, _))) = self.timers.peek() {
            let d = at.saturating_duration_since(now);
            timeout = Some(timeout.map_or(d, |t| t.min(d)));
        }
        let cap = self.events.capacity().max(256);
        self.events.clear();
        let n = self.epoll_wait(cap, timeout)?;
        // SAFETY: epoll_wait initialised the first `n <= capacity` events.
        unsafe { self.events.set_len(n) };
        for i in 0..n {
            let ev = self.events[i];
            let (fd, bits) = (ev.u64 as RawFd, ev.events as i32);
            if bits & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLRDHUP) != 0 {
                if let Some(st) = self.fds.get_mut(fd as usize) {
                    st.read_ready = true;
                    if bits & (libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLRDHUP) != 0 {
                        st.read_closed = true;
                    }
                }
                self.run_list(fd, Dir::Read);
            }
            if bits & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                self.run_list(fd, Dir::Write);
            }
            self.run_polls(fd, bits as u32);
        }
        if n == cap {
            // A full batch: make room for more next time.
            self.events.reserve(cap);
        }
        if !self.timers.is_empty() {
            self.fire_timers();
        }
        if self.pool.any.load(Ordering::Acquire) {
            self.pool.any.store(false, Ordering::Release);
            let done =
                std::mem::take(&mut *self.pool.cqes.lock().unwrap_or_else(|e| e.into_inner()));
            for (ud, r, f) in done {
                if f & CQE_F_MORE == 0 {
                    self.index.remove(&ud);
                }
                self.post(ud, r, f);
            }
        }
        Ok(())
    }

    fn epoll_wait(&mut self, cap: usize, timeout: Option<Duration>) -> io::Result<usize> {
        let epfd = self.epfd.as_raw_fd();
        let ptr = self.events.as_mut_ptr();
        loop {
            let r = if self.pwait2 {
                let ts = timeout.map(|t| libc::timespec {
                    tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
                    tv_nsec: t.subsec_nanos() as libc::c_long,
                });
                let tsp = ts
                    .as_ref()
                    .map_or(std::ptr::null(), |t| t as *const libc::timespec);
                // SAFETY: `ptr` has room for `cap` events (capacity checked by the caller);
                // `tsp` is null or points at a live timespec; no signal mask.
                unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        epfd,
                        ptr,
                        cap as libc::c_int,
                        tsp,
                        std::ptr::null::<libc::sigset_t>(),
                        0usize,
                    )
                }
            } else {
                let ms = timeout.map_or(-1, |t| {
                    // Round up: never wake before a deadline.
                    let ms = t.as_nanos().div_ceil(1_000_000);
                    ms.min(i32::MAX as u128) as libc::c_int
                });
                // SAFETY: as above, with a millisecond timeout.
                unsafe { libc::epoll_wait(epfd, ptr, cap as libc::c_int, ms) as libc::c_long }
            };
            if r >= 0 {
                return Ok(r as usize);
            }
            match errno() {
                libc::EINTR => return Ok(0),
                libc::ENOSYS if self.pwait2 => self.pwait2 = false,
                e => return Err(io::Error::from_raw_os_error(e)),
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, ud))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if matches!(self.index.get(&ud), Some(Where::Timer)) {
                self.index.remove(&ud);
                self.post(ud, -libc::ETIME, 0);
            }
        }
    }

    /// Retries the ops parked on `fd` in direction `dir`, in order, until one would block.
    fn run_list(&mut self, fd: RawFd, dir: Dir) {
        loop {
            let Some(st) = self.fds.get(fd as usize) else {
                return;
            };
            let head = match dir {
                Dir::Read => st.read.head,
                _ => st.write.head,
            };
            if head == NIL {
                return;
            }
            // A copy runs (attempt needs `&mut self`); what it changed is written back.
            let mut p = self.parked[head as usize];
            let step = self.attempt(&mut p);
            let ud = p.sqe.user_data;
            {
                let slot = &mut self.parked[head as usize];
                slot.progress = p.progress;
                slot.connecting = p.connecting;
            }
            match step {
                Step::Again(_) => return,
                Step::Item(r, f) => self.post(ud, r, f | CQE_F_MORE),
                Step::Done(r, f) => {
                    self.index.remove(&ud);
                    let p = self.unlink(head);
                    self.finish(&p.sqe, r, f);
                }
                Step::Pool => {
                    let p = self.unlink(head);
                    self.send_to_pool(p.sqe);
                }
            }
        }
    }

    /// Completes the poll ops on `fd` whose mask matches the event `bits`.
    fn run_polls(&mut self, fd: RawFd, bits: u32) {
        let Some(st) = self.fds.get(fd as usize) else {
            return;
        };
        let mut cur = st.poll.head;
        while cur != NIL {
            let p = &self.parked[cur as usize];
            let next = p.next;
            let mask = p.sqe.op_flags | (libc::POLLERR | libc::POLLHUP) as u32;
            let ev = (bits & mask) as i32;
            if ev != 0 {
                let (ud, multi) = (p.sqe.user_data, p.sqe.len & POLL_ADD_MULTI != 0);
                if multi {
                    self.post(ud, ev, CQE_F_MORE);
                } else {
                    self.index.remove(&ud);
                    self.unlink(cur);
                    self.post(ud, ev, 0);
                }
            }
            cur = next;
        }
    }

    // ---- system calls --------------------------------------------------------------------

    /// One non-blocking attempt of a readiness op.
    fn attempt(&mut self, p: &mut Parked) -> Step {
        let s = p.sqe;
        let fd = s.fd;
        match s.opcode {
            opcode::Read::CODE
            | opcode::Write::CODE
            | opcode::Readv::CODE
            | opcode::Writev::CODE
            | opcode::ReadFixed::CODE
            | opcode::WriteFixed::CODE => {
                let write = matches!(
                    s.opcode,
                    opcode::Write::CODE | opcode::Writev::CODE | opcode::WriteFixed::CODE
                );
                let dir = if write { Dir::Write } else { Dir::Read };
                let mut st = *self.state(fd);
                if st.direct.is_none() {
                    // SAFETY: plain fcntl on an fd the op holds open.
                    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
                    st.direct = Some(fl >= 0 && fl & libc::O_DIRECT != 0);
                    self.state(fd).direct = st.direct;
                }
                if st.direct == Some(true) || (st.regular && st.no_nowait) {
                    return Step::Pool;
                }
                let flags = if st.no_nowait { 0 } else { libc::RWF_NOWAIT };
                let mut r = rw(&s, flags, st.stream);
                if r == -libc::ESPIPE && !st.stream {
                    self.state(fd).stream = true;
                    r = rw(&s, flags, true);
                }
                match r {
                    r if r >= 0 => Step::Done(r, 0),
                    r if r == -libc::EAGAIN => Step::Again(dir),
                    r if r == -libc::EOPNOTSUPP && flags != 0 => {
                        // RWF_NOWAIT refused on this file: regular files go to the pool, the
                        // rest run on O_NONBLOCK.
                        self.state(fd).no_nowait = true;
                        if self.register(fd) == Err(libc::EPERM) {
                            return Step::Pool;
                        }
                        self.set_nonblock(fd);
                        self.attempt(p)
                    }
                    r => Step::Done(r, 0),
                }
            }
            opcode::Recv::CODE | opcode::Send::CODE | opcode::SendZc::CODE => {
                let send = s.opcode != opcode::Recv::CODE;
                let dir = if send { Dir::Write } else { Dir::Read };
                let waitall = s.op_flags as i32 & libc::MSG_WAITALL != 0;
                let flags = (s.op_flags as i32 & !libc::MSG_WAITALL) | libc::MSG_DONTWAIT;
                if !send && s.flags & IOSQE_BUFFER_SELECT != 0 {
                    return self.recv_select(&s, flags);
                }
                loop {
                    let done = p.progress as usize;
                    let (ptr, len) = (s.addr as usize + done, s.len as usize - done);
                    // `addr..addr+len` is the op's buffer, alive and (for a receive)
                    // writable while the op is in flight (rule 1); `off`/`addr_len` describe
                    // the op's destination address when set.
                    // SAFETY: the invariants just stated hold here.
                    let r = unsafe {
                        if !send {
                            libc::recv(fd, ptr as *mut _, len, flags)
                        } else if s.off != 0 {
                            libc::sendto(
                                fd,
                                ptr as *const _,
                                len,
                                flags | libc::MSG_NOSIGNAL,
                                s.off as *const libc::sockaddr,
                                (s.file_index & 0xffff) as libc::socklen_t,
                            )
                        } else {
                            libc::send(fd, ptr as *const _, len, flags | libc::MSG_NOSIGNAL)
                        }
                    };
                    let r = res(r);
                    if r == -libc::EAGAIN {
                        return Step::Again(dir);
                    }
                    if r < 0 {
                        return Step::Done(if done > 0 { done as i32 } else { r }, 0);
                    }
                    p.progress += r as u32;
                    if !send
                        && r > 0
                        && (r as usize) < len
                        && flags & libc::MSG_PEEK == 0
                        && self.is_stream_socket(fd)
                    {
                        let st = self.state(fd);
                        st.read_ready = st.read_closed;
                    }
                    if !waitall || r == 0 || p.progress >= s.len {
                        return Step::Done(p.progress as i32, 0);
                    }
                }
            }
            opcode::RecvMsg::CODE | opcode::SendMsg::CODE => {
                if s.flags & IOSQE_BUFFER_SELECT != 0 {
                    return Step::Done(-libc::EOPNOTSUPP, 0);
                }
                let flags = s.op_flags as i32 | libc::MSG_DONTWAIT;
                // SAFETY: `addr` points at the op's msghdr, whose buffers and address are
                // alive while the op is in flight (rule 1).
                let r = unsafe {
                    if s.opcode == opcode::RecvMsg::CODE {
                        libc::recvmsg(fd, s.addr as *mut libc::msghdr, flags)
                    } else {
                        libc::sendmsg(
                            fd,
                            s.addr as *const libc::msghdr,
                            flags | libc::MSG_NOSIGNAL,
                        )
                    }
                };
                match res(r) {
                    r if r == -libc::EAGAIN => Step::Again(dir_of(&s)),
                    r => Step::Done(r, 0),
                }
            }
            opcode::Accept::CODE => {
                if s.file_index != 0 {
                    return Step::Done(-libc::EOPNOTSUPP, 0);
                }
                self.set_nonblock(fd);
                let multi = s.ioprio & ACCEPT_MULTISHOT != 0;
                let (addr, len) = if multi {
                    (std::ptr::null_mut(), std::ptr::null_mut())
                } else {
                    (s.addr as *mut libc::sockaddr, s.off as *mut libc::socklen_t)
                };
                // SAFETY: `addr`/`len` are null or point into the op's address storage, alive
                // while the op is in flight (rule 1).
                let r = res(unsafe { libc::accept4(fd, addr, len, s.op_flags as i32) } as isize);
                match r {
                    r if r == -libc::EAGAIN => Step::Again(Dir::Read),
                    r if r >= 0 && multi => Step::Item(r, 0),
                    r => Step::Done(r, 0),
                }
            }
            opcode::Connect::CODE => {
                if p.connecting {
                    return Step::Done(
                        match sockopt_int(fd, libc::SO_ERROR) {
                            Ok(err) => -err,
                            Err(e) => -e,
                        },
                        0,
                    );
                }
                self.set_nonblock(fd);
                // SAFETY: `addr`/`off` are the op's socket address and its length, alive while
                // the op is in flight (rule 1).
                let r = unsafe {
                    libc::connect(
                        fd,
                        s.addr as *const libc::sockaddr,
                        s.off as libc::socklen_t,
                    )
                };
                match res(r as isize) {
                    r if r == -libc::EINPROGRESS => {
                        p.connecting = true;
                        Step::Again(Dir::Write)
                    }
                    r if r == -libc::EAGAIN => Step::Again(Dir::Write),
                    r => Step::Done(r, 0),
                }
            }
            opcode::PollAdd::CODE => Step::Again(Dir::Poll),
            _ => Step::Done(-libc::EOPNOTSUPP, 0),
        }
    }

    /// A receive into a buffer taken from provided-buffer group `s.buf_index` (multishot when
    /// `IORING_RECV_MULTISHOT` is set).
    fn recv_select(&mut self, s: &RawSqe, flags: i32) -> Step {
        let multi = s.ioprio & RECV_MULTISHOT != 0;
        let Some(ring) = self.buf_rings.get_mut(&s.buf_index) else {
            return Step::Done(-libc::ENOBUFS, 0);
        };
        // The ring memory was registered by a BufRing that unregisters it before
        // freeing it (provided.rs rule 2); the tail is the u16 at offset 14 of entry 0,
        // written by this thread only.
        // SAFETY: the invariants just stated hold here.
        let tail = unsafe { std::ptr::read_volatile(ring.base.add(14) as *const u16) };
        if tail == ring.head {
            return Step::Done(-libc::ENOBUFS, 0);
        }
        let slot = (ring.head & (ring.entries - 1)) as usize;
        // SAFETY: entry `slot` (16 bytes: addr u64, len u32, bid u16) lies inside the ring's
        // `entries` entries.
        let (addr, blen, bid) = unsafe {
            let e = ring.base.add(slot * 16);
            (
                std::ptr::read_unaligned(e as *const u64),
                std::ptr::read_unaligned(e.add(8) as *const u32),
                std::ptr::read_unaligned(e.add(12) as *const u16),
            )
        };
        let len = if s.len != 0 && !multi {
            blen.min(s.len)
        } else {
            blen
        };
        // SAFETY: the entry names a buffer of the BufRing, owned by the ring (not handed out)
        // until a CQE names its id.
        let r = res(unsafe { libc::recv(s.fd, addr as *mut _, len as usize, flags) });
        if r == -libc::EAGAIN {
            return Step::Again(Dir::Read);
        }
        if r <= 0 {
            // An error, or end of stream: the buffer stays in the ring, as the kernel leaves it.
            return Step::Done(r, 0);
        }
        ring.head = ring.head.wrapping_add(1);
        let f = CQE_F_BUFFER | (u32::from(bid) << CQE_BUFFER_SHIFT);
        if multi {
            Step::Item(r, f)
        } else {
            Step::Done(r, f)
        }
    }

    /// The provided-buffer ring at `base` with `entries` entries serves group `bgid`.
    pub(crate) fn register_buf_ring(
        &mut self,
        base: u64,
        entries: u16,
        bgid: u16,
    ) -> io::Result<()> {
        if !entries.is_power_of_two() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        if self.buf_rings.contains_key(&bgid) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        self.buf_rings.insert(
            bgid,
            BufRingView {
                base: base as *const u8,
                entries,
                head: 0,
            },
        );
        Ok(())
    }

    /// Group `bgid` is gone.
    pub(crate) fn unregister_buf_ring(&mut self, bgid: u16) -> io::Result<()> {
        match self.buf_rings.remove(&bgid) {
            Some(_) => Ok(()),
            None => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }
}

/// The direction an op waits in.
fn dir_of(s: &RawSqe) -> Dir {
    match s.opcode {
        opcode::Write::CODE
        | opcode::Writev::CODE
        | opcode::WriteFixed::CODE
        | opcode::Send::CODE
        | opcode::SendZc::CODE
        | opcode::SendMsg::CODE
        | opcode::Connect::CODE => Dir::Write,
        opcode::PollAdd::CODE => Dir::Poll,
        _ => Dir::Read,
    }
}

/// An int-valued `SOL_SOCKET` option of `fd`, or the errno.
fn sockopt_int(fd: RawFd, opt: libc::c_int) -> Result<libc::c_int, i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: reads an int option into a live int.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(v)
    }
}

/// `poll(2)` with a zero timeout: the events of `mask` (plus errors) `fd` has now.
fn poll_now(fd: RawFd, mask: u32) -> i32 {
    let mut pfd = libc::pollfd {
        fd,
        events: mask as i16,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, 0) };
    if r > 0 {
        i32::from(pfd.revents as u16)
    } else {
        0
    }
}

/// A read or write SQE as `preadv2`/`pwritev2` with `flags` (`RWF_*`) added to its own; at the
/// file position instead of the SQE's offset when `stream` (the fd is not seekable).
fn rw(s: &RawSqe, flags: i32, stream: bool) -> i32 {
    let vectored = matches!(s.opcode, opcode::Readv::CODE | opcode::Writev::CODE);
    let one = libc::iovec {
        iov_base: s.addr as *mut libc::c_void,
        iov_len: s.len as usize,
    };
    let (iov, cnt) = if vectored {
        (s.addr as *const libc::iovec, s.len as i32)
    } else {
        (&one as *const libc::iovec, 1)
    };
    let off = if stream { -1 } else { s.off as i64 };
    let flags = s.op_flags as i32 | flags;
    let write = matches!(
        s.opcode,
        opcode::Write::CODE | opcode::Writev::CODE | opcode::WriteFixed::CODE
    );
    // The iovecs (the op's own, or `one` over the op's buffer) describe memory alive
    // and, for a read, writable while the op is in flight (rule 1). Offset -1 is "the file
    // position", as for io_uring.
    // SAFETY: the invariants just stated hold here.
    let r = unsafe {
        if write {
            libc::pwritev2(s.fd, iov, cnt, off, flags)
        } else {
            libc::preadv2(s.fd, iov, cnt, off, flags)
        }
    };
    let r = res(r);
    if r == -libc::EINVAL && flags == 0 && off == -1 {
        // Very old kernels: no -1 offset in preadv2.
        // SAFETY: as above.
        return res(unsafe {
            if write {
                libc::writev(s.fd, iov, cnt)
            } else {
                libc::readv(s.fd, iov, cnt)
            }
        });
    }
    r
}

/// Runs a blocking op on a pool thread; returns its CQE `res` and flags.
fn blocking(s: &RawSqe) -> (i32, u32) {
    // Every pointer in the SQE points into the op's state (paths, buffers, statx and
    // iovec storage), which the driver keeps alive and unmoved until this op's CQE is reaped
    // (rule 1), and each fd is held open by the op.
    // SAFETY: the invariants just stated hold here.
    let r: isize = unsafe {
        match s.opcode {
            opcode::Read::CODE
            | opcode::Write::CODE
            | opcode::Readv::CODE
            | opcode::Writev::CODE
            | opcode::ReadFixed::CODE
            | opcode::WriteFixed::CODE => return (blocking_rw(s), 0),
            opcode::Fsync::CODE => {
                if s.op_flags & FSYNC_DATASYNC != 0 {
                    libc::fdatasync(s.fd) as isize
                } else {
                    libc::fsync(s.fd) as isize
                }
            }
            opcode::Fallocate::CODE => {
                libc::fallocate(s.fd, s.len as i32, s.off as i64, s.addr as i64) as isize
            }
            opcode::Ftruncate::CODE => libc::ftruncate(s.fd, s.off as i64) as isize,
            opcode::OpenAt::CODE => libc::openat(
                s.fd,
                s.addr as *const libc::c_char,
                s.op_flags as i32,
                s.len as libc::c_uint,
            ) as isize,
            opcode::Statx::CODE => libc::syscall(
                libc::SYS_statx,
                s.fd,
                s.addr as *const libc::c_char,
                s.op_flags as i32,
                s.len,
                s.off as *mut libc::c_void,
            ) as isize,
            opcode::RenameAt::CODE => libc::renameat2(
                s.fd,
                s.addr as *const libc::c_char,
                s.len as i32,
                s.off as *const libc::c_char,
                s.op_flags,
            ) as isize,
            opcode::UnlinkAt::CODE => {
                libc::unlinkat(s.fd, s.addr as *const libc::c_char, s.op_flags as i32) as isize
            }
            opcode::MkDirAt::CODE => {
                libc::mkdirat(s.fd, s.addr as *const libc::c_char, s.len as libc::mode_t) as isize
            }
            opcode::SymlinkAt::CODE => libc::symlinkat(
                s.addr as *const libc::c_char,
                s.fd,
                s.off as *const libc::c_char,
            ) as isize,
            opcode::LinkAt::CODE => libc::linkat(
                s.fd,
                s.addr as *const libc::c_char,
                s.len as i32,
                s.off as *const libc::c_char,
                s.op_flags as i32,
            ) as isize,
            opcode::Splice::CODE => return (blocking_splice(s), 0),
            _ => return (-libc::EOPNOTSUPP, 0),
        }
    };
    (res(r), 0)
}

/// A read or write on the pool: blocking, except on an fd this driver made `O_NONBLOCK`, where
/// it waits for readiness between attempts.
fn blocking_rw(s: &RawSqe) -> i32 {
    let write = matches!(
        s.opcode,
        opcode::Write::CODE | opcode::Writev::CODE | opcode::WriteFixed::CODE
    );
    let mut stream = false;
    loop {
        let r = rw(s, 0, stream);
        if r == -libc::ESPIPE && !stream {
            stream = true;
            continue;
        }
        if r != -libc::EAGAIN {
            return r;
        }
        let ev = if write { libc::POLLOUT } else { libc::POLLIN };
        let mut pfd = libc::pollfd {
            fd: s.fd,
            events: ev,
            revents: 0,
        };
        // SAFETY: one live pollfd; a bounded wait so the loop re-checks.
        unsafe { libc::poll(&mut pfd, 1, 100) };
    }
}

/// `splice(2)` on the pool; waits for either end when one of them is non-blocking.
fn blocking_splice(s: &RawSqe) -> i32 {
    if s.op_flags & SPLICE_F_FD_IN_FIXED != 0 {
        return -libc::EOPNOTSUPP;
    }
    let fd_in = s.file_index as i32;
    let mut off_in = s.addr as i64;
    let mut off_out = s.off as i64;
    loop {
        let pin: *mut i64 = if off_in == -1 {
            std::ptr::null_mut()
        } else {
            &mut off_in
        };
        let pout: *mut i64 = if off_out == -1 {
            std::ptr::null_mut()
        } else {
            &mut off_out
        };
        // SAFETY: plain syscall on fds the op holds open; offsets point at locals.
        let r = res(unsafe {
            libc::splice(
                fd_in,
                pin,
                s.fd,
                pout,
                s.len as usize,
                s.op_flags & !SPLICE_F_FD_IN_FIXED,
            )
        });
        if r != -libc::EAGAIN {
            return r;
        }
        let mut pfds = [
            libc::pollfd {
                fd: fd_in,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: s.fd,
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        // SAFETY: two live pollfds; a bounded wait so the loop re-checks.
        unsafe { libc::poll(pfds.as_mut_ptr(), 2, 100) };
    }
}
