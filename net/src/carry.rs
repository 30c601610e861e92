//! [`Carry`]: what dropped reads and accepts completed, kept on their socket for the next one.
//!
//! With completion-based I/O the kernel may finish a read or an accept after its future was
//! dropped (a `select!` that took another branch, a timeout). Every read and accept on a
//! socket is therefore submitted with the socket's `Carry` as its
//! [`Salvage`](ringbolt_runtime::Salvage) sink, and:
//!
//! 1. What a dropped op completed comes here instead of being released: the bytes a read
//!    received (copied out of its buffer, which went down with the future), the provided
//!    buffers a [`RecvStream`](crate::RecvStream) had queued, end of stream or an error a read
//!    reached, the connections an accept took from the backlog. An op whose cancellation won
//!    (`ECANCELED`) completed nothing: a cancelled socket read leaves its data in the socket.
//! 2. Between `parked` and `done` a dropped op's result is still to come. A read or accept on
//!    the socket first waits for every such op ([`Carry::settled`]), then takes what is held,
//!    and only then submits: bytes come out in the order the kernel delivered them, and no new
//!    op races a parked one for the same data.
//! 3. When nothing is held and nothing parked (the common case), a read costs one `Cell` read
//!    and an `Rc` clone (the sink handed to the op): no allocation. A
//!    [`RecvStream`](crate::RecvStream) hands the carry to its armed receive only when it drops
//!    it in flight, so a socket that only ever receives that way never makes its carry.
//! 4. The carry lives as long as the socket's last handle (stream, split half, listener):
//!    dropping the socket drops what it holds (closing held connections).

use ringbolt_runtime::buf::provided::ProvidedBuf;
use ringbolt_runtime::buf::{fill_from, filled, BufResult, IoBufMut};
use ringbolt_runtime::ops::net::SockAddr;
use ringbolt_runtime::Salvage;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::os::fd::OwnedFd;
use std::task::{Context, Poll, Waker};

/// Received bytes held for the next read.
enum Chunk {
    /// Copied out of the buffer of a dropped read; `pos` bytes were taken already.
    Bytes { data: Vec<u8>, pos: usize },
    /// A provided buffer a dropped [`RecvStream`](crate::RecvStream) had received (advanced
    /// past what reads took).
    Provided(ProvidedBuf),
}

impl Chunk {
    fn rest(&self) -> &[u8] {
        match self {
            Chunk::Bytes { data, pos } => &data[*pos..],
            Chunk::Provided(buf) => buf,
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Chunk::Bytes { pos, .. } => *pos += n,
            Chunk::Provided(buf) => buf.advance(n),
        }
    }
}

/// How a dropped read ended after its bytes: returned by the next read once the bytes are out.
enum End {
    Eof,
    Error(io::Error),
}

/// What the carry holds.
#[derive(Default)]
struct Held {
    chunks: VecDeque<Chunk>,
    end: Option<End>,
    /// Accepted connections, with the peer's address when the accept reported it.
    conns: VecDeque<(OwnedFd, Option<SockAddr>)>,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.end.is_none() && self.conns.is_empty()
    }
}

/// What only a socket that had a read or accept dropped in flight needs: boxed on first use,
/// so the carry of every other socket stays three words (rule 3).
#[derive(Default)]
struct Slow {
    held: Held,
    /// Reads and accepts waiting for the parked ops to finish.
    waiters: Vec<Waker>,
}

/// The per-socket carry-over state; see the [module docs](self).
#[derive(Default)]
pub(crate) struct Carry {
    /// Dropped ops whose results are still to come (between `parked` and `done`).
    parked: Cell<u32>,
    /// True while nothing is parked and nothing held: the fast-path check.
    quiet: Cell<bool>,
    /// Held results and waiters; `None` until a dropped op is parked.
    slow: RefCell<Option<Box<Slow>>>,
}

impl Carry {
    pub(crate) fn new() -> Carry {
        Carry {
            quiet: Cell::new(true),
            ..Carry::default()
        }
    }

    /// Nothing parked, nothing held: a read may go straight to the kernel.
    #[inline]
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet.get()
    }

    /// Runs `f` on the slow part, making it first if needed.
    fn slow_mut<R>(&self, f: impl FnOnce(&mut Slow) -> R) -> R {
        f(self.slow.borrow_mut().get_or_insert_with(Box::default))
    }

    /// Whether received bytes (or a pending end of stream or error) are held.
    pub(crate) fn holds_data(&self) -> bool {
        self.slow
            .borrow()
            .as_ref()
            .is_some_and(|s| !s.held.chunks.is_empty() || s.held.end.is_some())
    }

    fn update_quiet(&self) {
        let quiet = self.parked.get() == 0
            && self
                .slow
                .borrow()
                .as_ref()
                .is_none_or(|s| s.held.is_empty());
        self.quiet.set(quiet);
    }

    /// Ready once no dropped op on the socket is parked (rule 2).
    pub(crate) fn poll_settled(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.parked.get() == 0 {
            return Poll::Ready(());
        }
        self.slow_mut(|slow| {
            if !slow.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                slow.waiters.push(cx.waker().clone());
            }
        });
        Poll::Pending
    }

    /// Waits until no dropped op on the socket is parked (rule 2).
    pub(crate) async fn settled(&self) {
        poll_fn(|cx| self.poll_settled(cx)).await;
    }

    /// Runs `f` on what is held, then updates the fast-path flag.
    fn take<R>(&self, f: impl FnOnce(&mut Held) -> R) -> R {
        let res = match self.slow.borrow_mut().as_mut() {
            Some(slow) => f(&mut slow.held),
            // Nothing was ever held: `f` finds nothing (an empty `Held` allocates nothing).
            None => f(&mut Held::default()),
        };
        self.update_quiet();
        res
    }

    /// Copies bytes of the front chunk out with `copy` (which returns how many it took), or
    /// returns a held end of stream or error once no bytes are left. `None` when nothing is
    /// held.
    fn take_front(&self, copy: impl FnOnce(&[u8]) -> usize) -> Option<io::Result<usize>> {
        self.take(|held| match held.chunks.front_mut() {
            Some(chunk) => {
                let n = copy(chunk.rest());
                chunk.consume(n);
                if chunk.rest().is_empty() {
                    held.chunks.pop_front();
                }
                Some(Ok(n))
            }
            None => held.end.take().map(End::into_result),
        })
    }

    /// Copies held bytes into `buf` (one chunk's worth at most), or returns a held end of
    /// stream or error once no bytes are left. `None` when nothing is held.
    pub(crate) fn take_into<B: IoBufMut>(&self, buf: &mut B) -> Option<io::Result<usize>> {
        self.take_front(|data| fill_from(buf, data))
    }

    /// As [`take_into`](Self::take_into) for a scatter read: fills the buffers in order from
    /// the front chunk, stopping where it ends (a later buffer is filled only if every earlier
    /// one is full); the buffers after the data are left holding nothing, as a short `readv`
    /// leaves them.
    pub(crate) fn take_into_bufs<B: IoBufMut>(&self, bufs: &mut [B]) -> Option<io::Result<usize>> {
        self.take_front(|mut data| {
            let mut n = 0;
            for buf in bufs.iter_mut() {
                let k = fill_from(buf, data);
                n += k;
                data = if k == buf.bytes_total() {
                    &data[k..]
                } else {
                    &[]
                };
            }
            n
        })
    }

    /// Copies held bytes into `dst` (across chunks), or returns a held end of stream or error
    /// once no bytes are left. `None` when nothing is held.
    pub(crate) fn take_into_slice(&self, dst: &mut [u8]) -> Option<io::Result<usize>> {
        self.take(|held| {
            let mut n = 0;
            while n < dst.len() {
                let Some(chunk) = held.chunks.front_mut() else {
                    break;
                };
                let rest = chunk.rest();
                let k = rest.len().min(dst.len() - n);
                dst[n..n + k].copy_from_slice(&rest[..k]);
                chunk.consume(k);
                n += k;
                if chunk.rest().is_empty() {
                    held.chunks.pop_front();
                }
            }
            if n > 0 {
                Some(Ok(n))
            } else {
                held.end.take().map(End::into_result)
            }
        })
    }

    /// The next held chunk as a provided buffer, for a [`RecvStream`](crate::RecvStream):
    /// `Ok(None)` for a held end of stream. `None` when nothing is held.
    ///
    /// Bytes a dropped owned-buffer `read` left cannot become a provided buffer: they are
    /// reported as an `InvalidInput` error (take them with `read` first), never skipped.
    pub(crate) fn take_chunk(&self) -> Option<io::Result<Option<ProvidedBuf>>> {
        self.take(|held| match held.chunks.front() {
            Some(Chunk::Provided(_)) => match held.chunks.pop_front() {
                Some(Chunk::Provided(buf)) => Some(Ok(Some(buf))),
                _ => unreachable!("matched a provided chunk above"),
            },
            Some(Chunk::Bytes { data, pos }) => Some(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} bytes that a cancelled read received are held on this stream; \
                     take them with `read` before calling `recv_stream`",
                    data.len() - pos
                ),
            ))),
            None => held.end.take().map(|end| match end {
                End::Eof => Ok(None),
                End::Error(e) => Err(e),
            }),
        })
    }

    /// The oldest held connection. `None` when none is held.
    pub(crate) fn take_conn(&self) -> Option<(OwnedFd, Option<SockAddr>)> {
        self.take(|held| held.conns.pop_front())
    }

    fn push_chunk(&self, chunk: Chunk) {
        self.slow_mut(|slow| slow.held.chunks.push_back(chunk));
        self.quiet.set(false);
    }

    fn push_end(&self, end: End) {
        self.slow_mut(|slow| {
            if slow.held.end.is_none() {
                slow.held.end = Some(end);
            }
        });
        self.quiet.set(false);
    }

    fn push_conn(&self, fd: OwnedFd, addr: Option<SockAddr>) {
        self.slow_mut(|slow| slow.held.conns.push_back((fd, addr)));
        self.quiet.set(false);
    }

    fn on_parked(&self) {
        self.parked.set(self.parked.get() + 1);
        self.quiet.set(false);
    }

    fn on_done(&self) {
        let parked = self.parked.get().saturating_sub(1);
        self.parked.set(parked);
        if parked == 0 {
            self.update_quiet();
            // Wake outside the borrow: a waker may run code that reads the carry.
            let waiters = match self.slow.borrow_mut().as_mut() {
                Some(slow) => std::mem::take(&mut slow.waiters),
                None => Vec::new(),
            };
            for w in waiters {
                w.wake();
            }
        }
    }

    /// Keeps what an error result means for the next read: `ECANCELED` (the cancellation
    /// won, the data stayed in the socket) and `ENOBUFS` (back-pressure) mean nothing.
    fn keep_error(&self, e: io::Error) {
        if !matches!(e.raw_os_error(), Some(libc::ECANCELED | libc::ENOBUFS)) {
            self.push_end(End::Error(e));
        }
    }
}

impl End {
    fn into_result(self) -> io::Result<usize> {
        match self {
            End::Eof => Ok(0),
            End::Error(e) => Err(e),
        }
    }
}

/// A dropped single-buffer read (`read`, `read_exact`'s current step, `read_timeout`).
impl<B: IoBufMut> Salvage<BufResult<usize, B>> for Carry {
    fn parked(&self) {
        self.on_parked();
    }
    fn salvage(&self, (res, buf): BufResult<usize, B>) {
        match res {
            Ok(0) => self.push_end(End::Eof),
            Ok(n) => {
                let data = filled(&buf);
                let data = data[..n.min(data.len())].to_vec();
                self.push_chunk(Chunk::Bytes { data, pos: 0 });
            }
            Err(e) => self.keep_error(e),
        }
    }
    fn done(&self) {
        self.on_done();
    }
}

/// A dropped multishot receive ([`RecvStream`](crate::RecvStream)).
impl Salvage<io::Result<Option<ProvidedBuf>>> for Carry {
    fn parked(&self) {
        self.on_parked();
    }
    fn salvage(&self, item: io::Result<Option<ProvidedBuf>>) {
        match item {
            Ok(Some(buf)) => self.push_chunk(Chunk::Provided(buf)),
            Ok(None) => self.push_end(End::Eof),
            Err(e) => self.keep_error(e),
        }
    }
    fn done(&self) {
        self.on_done();
    }
}

/// A dropped single-shot accept. A failed accept concerned one connection (or the listener,
/// which the next accept reports again): nothing to keep.
impl Salvage<io::Result<(OwnedFd, SockAddr)>> for Carry {
    fn parked(&self) {
        self.on_parked();
    }
    fn salvage(&self, res: io::Result<(OwnedFd, SockAddr)>) {
        if let Ok((fd, addr)) = res {
            self.push_conn(fd, Some(addr));
        }
    }
    fn done(&self) {
        self.on_done();
    }
}

/// A dropped multishot accept ([`Incoming`](crate::Incoming)).
impl Salvage<io::Result<OwnedFd>> for Carry {
    fn parked(&self) {
        self.on_parked();
    }
    fn salvage(&self, res: io::Result<OwnedFd>) {
        if let Ok(fd) = res {
            self.push_conn(fd, None);
        }
    }
    fn done(&self) {
        self.on_done();
    }
}

/// The sink for a dropped scatter read (`readv`): its own type, since its output (a `Vec` of
/// buffers) cannot share the single-buffer impl above. It forwards to the socket's carry.
pub(crate) struct VecSink(pub(crate) std::rc::Rc<Carry>);

impl<B: IoBufMut> Salvage<BufResult<usize, Vec<B>>> for VecSink {
    fn parked(&self) {
        self.0.on_parked();
    }
    fn salvage(&self, (res, bufs): BufResult<usize, Vec<B>>) {
        match res {
            Ok(0) => self.0.push_end(End::Eof),
            Ok(mut n) => {
                let mut data = Vec::with_capacity(n);
                for buf in &bufs {
                    let got = filled(buf);
                    let k = n.min(got.len());
                    data.extend_from_slice(&got[..k]);
                    n -= k;
                    if n == 0 {
                        break;
                    }
                }
                self.0.push_chunk(Chunk::Bytes { data, pos: 0 });
            }
            Err(e) => self.0.keep_error(e),
        }
    }
    fn done(&self) {
        self.0.on_done();
    }
}
