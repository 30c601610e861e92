//! The op lifecycle: [`OpCode`], [`Op`] and [`MultiOp`].
//!
//! Rules (every op follows them; the driver enforces the ones it can):
//! 1. The SQE points only into memory the op's state owns (or `'static` memory). A state whose
//!    SQE points into its own fields (a `sockaddr`, a `timespec`) is boxed before its SQE is
//!    built; a state that promises [`OpCode::INLINE`] (every pointer goes to heap memory it
//!    owns, such as an [`IoBuf`](crate::buf::IoBuf)'s bytes, which do not move when the state
//!    moves) lives inline in the [`Op`] future: no allocation per op.
//! 2. Once its SQE is pushed, the state lives until the op's **final** CQE (one without
//!    `IORING_CQE_F_MORE`) has been reaped, whatever happens to the future: a dropped `Op`
//!    hands its state to the driver (boxing it then, if it was inline), which queues
//!    `IORING_OP_ASYNC_CANCEL` and keeps the state until the final CQE, then calls
//!    [`OpCode::release`] (or the op's [`Salvage`] sink) so that what the kernel completed
//!    anyway (bytes read, an accepted or opened fd) is handed on or closed, never lost silently.
//! 3. A slot in the in-flight slab is freed only by its own final CQE, and `user_data` carries a
//!    generation, so a stale CQE never reaches a reused slot.
//! 4. `mem::forget` of an in-flight op leaks its state; the kernel keeps writing into valid
//!    memory (heap memory the leaked state owns).
//! 5. An op is submitted on its first poll. An op dropped before that never reaches the kernel.
//! 6. The state never leaves the place the driver can find it (the `Op`, or the slab once
//!    orphaned) before the final CQE: `poll` matches it in place, and every "no runtime",
//!    "wrong runtime" or "driver busy" path panics or errors with the state still there, so the
//!    unwind's `Drop` parks it (own driver current) or leaks it (anywhere else).

use super::current;
use super::{CqeResult, Key, Submitted};
use io_uring::squeue::Entry;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// One io_uring operation: how to build its SQE and what its CQE means.
///
/// Implemented by the op types in [`crate::ops`]; implement it for a new opcode when ringbolt
/// lacks one.
///
/// # Safety
///
/// - Every pointer that `build` writes into the SQE must point into memory owned by `self` (or
///   `'static`), and stay valid while `self` is alive. Unless `INLINE` is true, the driver keeps
///   `self` boxed (unmoved) until the final CQE, so pointers into `self`'s own fields are
///   allowed.
/// - With `INLINE = true`, every such pointer must also stay valid and unchanged when `self` is
///   **moved** (heap memory `self` owns, like an `IoBuf`'s bytes, or `'static` memory; never a
///   field of `self`): the state then lives inline in the `Op` future, which may move while the
///   op is in flight.
/// - `build` must not set `user_data` (the driver does) and must not create linked chains.
/// - `try_inline` may only perform the operation synchronously with a non-blocking system call
///   and must report exactly what happened (the result a CQE would have carried).
pub unsafe trait OpCode: 'static {
    /// What awaiting the op yields.
    type Output;

    /// Whether the state may live inline in the [`Op`] future (see the safety section): the
    /// hot-path ops set it, so submitting them allocates nothing.
    const INLINE: bool = false;

    /// Checks, on the thread about to submit, that the op may run on the current ring (for
    /// example that a resource it names was registered with this ring). An error completes
    /// the op with that error without submitting it. The default accepts.
    fn validate(&self) -> io::Result<()> {
        Ok(())
    }

    /// Tries the operation at once, without the ring, when that cannot block (a read of a
    /// file's page-cache pages with `RWF_NOWAIT`, for example). `Some(result)` completes the op
    /// with that result and nothing is submitted; `None` submits the SQE. The default submits.
    fn try_inline(&mut self) -> Option<io::Result<u32>> {
        None
    }

    /// Builds the SQE. Called once, just before the SQE is queued.
    fn build(&mut self) -> Entry;

    /// Turns the final CQE into the output, handing owned buffers back.
    fn complete(self, cqe: CqeResult) -> Self::Output
    where
        Self: Sized;

    /// Called instead of `complete` when the final CQE arrives after the future was dropped.
    /// The default completes and drops the output; an op whose output owns a resource (an
    /// `OwnedFd`) therefore releases it by dropping it.
    fn release(self, cqe: CqeResult)
    where
        Self: Sized,
    {
        drop(self.complete(cqe));
    }
}

/// A multishot operation: one SQE, a stream of CQEs, the last one without `IORING_CQE_F_MORE`.
///
/// # Safety
///
/// The same obligations as [`OpCode`] (the state is always boxed: `INLINE` does not apply).
pub unsafe trait MultishotOpCode: 'static {
    /// What each CQE turns into.
    type Item;

    /// As [`OpCode::validate`]: an error becomes the stream's only item.
    fn validate(&self) -> io::Result<()> {
        Ok(())
    }

    /// Builds the SQE. Called once, after `self` was boxed.
    fn build(&mut self) -> Entry;

    /// Turns one CQE into an item.
    fn next(&mut self, cqe: CqeResult) -> Self::Item;

    /// Turns one CQE, as the kernel posted it (`res`, `flags`), into an item: what the
    /// driver calls for each CQE of a live stream. The default converts it and calls
    /// [`next`](Self::next); an op may override it with a cheaper path for its common case
    /// (no `io::Error` built for a result that is not one), giving the item `next` would.
    #[inline(always)]
    fn next_raw(&mut self, res: i32, flags: u32) -> Self::Item {
        self.next(CqeResult::from_raw(res, flags))
    }

    /// Releases what a CQE created when nobody will take its item. Defaults to dropping the item.
    fn release(&mut self, cqe: CqeResult) {
        drop(self.next(cqe));
    }
}

/// Where the results of an op go when its future is dropped while the op is in flight: the
/// kernel may still complete it (bytes read, a connection accepted), and a sink keeps that
/// work instead of discarding it. Set with [`Op::salvage`] or [`MultiOp::salvage`].
///
/// `net` uses it to make reads and accepts cancel-safe: what a dropped read received is kept
/// on the stream and returned by the next read.
pub trait Salvage<O>: 'static {
    /// The future was dropped with the op in flight; the driver now holds it and will call
    /// [`salvage`](Salvage::salvage) with each result (one for a single-shot op) until the
    /// final CQE, then [`done`](Salvage::done). Not called when the op's state had to be
    /// leaked (dropped outside its runtime): then nothing more is called.
    fn parked(&self) {}

    /// An output of the dropped op (for a single-shot op: its only one, which may be an
    /// `ECANCELED` error if the cancellation won; buffers come back in it).
    fn salvage(&self, output: O);

    /// The op's final CQE was handled: nothing more comes from it.
    fn done(&self) {}
}

/// What the driver keeps of an op whose future was dropped while it was in flight.
pub(crate) trait Orphan {
    /// A CQE with `F_MORE`: the op goes on.
    fn more(&mut self, cqe: CqeResult);
    /// The final CQE.
    fn finish(self: Box<Self>, cqe: CqeResult);
    /// The driver keeps the orphan until its final CQE (it was not complete yet).
    fn mark_parked(&mut self) {}
}

/// A single-shot op's boxed state, with its sink if it has one: how the driver keeps an op
/// dropped in flight, and where a boxed op (not [`OpCode::INLINE`]) or one given a sink lives
/// from the start (so parking it hands this box over, allocating nothing).
struct Parked<T: OpCode> {
    /// Never moved out of the box before the final CQE (the SQE may point into it).
    op: T,
    sink: Option<Rc<dyn Salvage<T::Output>>>,
    deferred: bool,
    /// The result CQE of an op that posts it with `F_MORE` before a final notification
    /// (SEND_ZC): the op's outcome, which the notification only confirms.
    early: Option<CqeResult>,
}

impl<T: OpCode> Parked<T> {
    #[inline]
    fn new(op: T, sink: Option<Rc<dyn Salvage<T::Output>>>) -> Box<Self> {
        Box::new(Parked {
            op,
            sink,
            deferred: false,
            early: None,
        })
    }
}

impl<T: OpCode> Orphan for Parked<T> {
    fn more(&mut self, cqe: CqeResult) {
        self.early.get_or_insert(cqe);
    }
    fn finish(self: Box<Self>, cqe: CqeResult) {
        let Parked {
            op,
            sink,
            deferred,
            early,
        } = *self;
        let cqe = match early {
            Some(mut r) => {
                r.flags |= cqe.flags;
                r
            }
            None => cqe,
        };
        match sink {
            Some(sink) => {
                sink.salvage(op.complete(cqe));
                if deferred {
                    sink.done();
                }
            }
            None => op.release(cqe),
        }
    }
    fn mark_parked(&mut self) {
        self.deferred = true;
        if let Some(sink) = &self.sink {
            sink.parked();
        }
    }
}

/// Boxed state of a multishot op, with its sink if it has one.
struct Multi<T: MultishotOpCode> {
    op: T,
    sink: Option<Rc<dyn Salvage<T::Item>>>,
    deferred: bool,
}

impl<T: MultishotOpCode> Orphan for Multi<T> {
    fn more(&mut self, cqe: CqeResult) {
        match &self.sink {
            Some(sink) => sink.salvage(self.op.next(cqe)),
            None => self.op.release(cqe),
        }
    }
    fn finish(mut self: Box<Self>, cqe: CqeResult) {
        self.more(cqe);
        if let (Some(sink), true) = (&self.sink, self.deferred) {
            sink.done();
        }
    }
    fn mark_parked(&mut self) {
        self.deferred = true;
        if let Some(sink) = &self.sink {
            sink.parked();
        }
    }
}

/// Where a single-shot op's state lives: inline ([`OpCode::INLINE`], no sink), or boxed with
/// its sink (every other op, and an inline one given a sink by [`Op::salvage`]).
enum Store<T: OpCode> {
    Inline(T),
    Boxed(Box<Parked<T>>),
}

impl<T: OpCode> Store<T> {
    #[inline]
    fn new(op: T) -> Self {
        if T::INLINE {
            Store::Inline(op)
        } else {
            Store::Boxed(Parked::new(op, None))
        }
    }

    #[inline(always)]
    fn get_mut(&mut self) -> &mut T {
        match self {
            Store::Inline(t) => t,
            Store::Boxed(b) => &mut b.op,
        }
    }

    /// The state, once the kernel is done with it (or never had it).
    #[inline(always)]
    fn into_inner(self) -> T {
        match self {
            Store::Inline(t) => t,
            Store::Boxed(b) => b.op,
        }
    }

    /// The state as the driver keeps it: an inline one is boxed now (moving it is allowed by
    /// `OpCode::INLINE`'s contract); a boxed one stays in its box, which only its pointer moves.
    fn into_parked(self) -> Box<Parked<T>> {
        match self {
            Store::Inline(t) => Parked::new(t, None),
            Store::Boxed(b) => b,
        }
    }
}

/// Where a single-shot op is. `InFlight` carries its slab key and the id of the driver whose
/// ring holds the SQE, so it is only ever polled or dropped into that driver.
#[derive(Clone, Copy)]
enum Phase {
    Unsubmitted,
    /// Unsubmitted, and [`Op::cancel`] was called: the op completes with `ECANCELED`
    /// without being submitted.
    Cancelled,
    InFlight(Key, u64),
    Done,
}

/// A [`Phase`] in two words (an enum of a key and an id takes three): `driver` is the id of
/// the driver the op is in flight on, or one of the markers below, which no driver id takes
/// (driver ids start at [`super::FIRST_DRIVER_ID`]). Never zero, so an `Option` or an enum
/// around an op can keep its tag there.
#[derive(Clone, Copy)]
struct PackedPhase {
    key: Key,
    driver: NonZeroU64,
}

impl PackedPhase {
    const UNSUBMITTED: NonZeroU64 = NonZeroU64::MIN;
    const CANCELLED: NonZeroU64 = NonZeroU64::MIN.saturating_add(1);
    const DONE: NonZeroU64 = NonZeroU64::MIN.saturating_add(2);
    const UNSUBMITTED_PHASE: PackedPhase = PackedPhase {
        key: 0,
        driver: Self::UNSUBMITTED,
    };
    const _IDS_CLEAR: () = assert!(super::FIRST_DRIVER_ID > Self::DONE.get());

    #[inline(always)]
    fn get(self) -> Phase {
        // In flight first: the hot case, one compare.
        if self.driver > Self::DONE {
            Phase::InFlight(self.key, self.driver.get())
        } else if self.driver == Self::UNSUBMITTED {
            Phase::Unsubmitted
        } else if self.driver == Self::CANCELLED {
            Phase::Cancelled
        } else {
            Phase::Done
        }
    }

    /// Marks the op done (the key stays; it means nothing any more).
    #[inline(always)]
    fn set_done(&mut self) {
        self.driver = Self::DONE;
    }

    /// Marks the op cancelled before submission.
    #[inline(always)]
    fn set_cancelled(&mut self) {
        self.driver = Self::CANCELLED;
    }

    /// Marks the op in flight on driver `id` under `key`.
    #[inline(always)]
    fn set_in_flight(&mut self, key: Key, id: u64) {
        debug_assert!(id >= super::FIRST_DRIVER_ID);
        // Driver ids start above the markers, so never at zero. Were one zero anyway, the op
        // stays "in flight" on a driver id nobody has: polling it panics and dropping it leaks
        // the state, never frees memory the kernel may use.
        let driver = NonZeroU64::new(id).unwrap_or(NonZeroU64::MAX);
        *self = PackedPhase { key, driver };
    }
}

/// The future of one io_uring operation. Resolves to [`OpCode::Output`].
///
/// Submitted on first poll; dropping it in flight cancels it (see the module rules).
/// `!Send`: an op belongs to the ring of the core that submitted it.
#[must_use = "an Op does nothing until awaited"]
pub struct Op<T: OpCode> {
    /// The state. `phase` says whether it is here: it is, unless `phase` is `DONE` (the op
    /// completed, or was parked in the driver by `Drop`); only those two take it out (and set
    /// `DONE` as they do), never while the op is in flight otherwise. Dropped by `Drop`,
    /// which knows from `phase` when there is nothing left: a finished op's drop then checks
    /// nothing here.
    data: ManuallyDrop<Store<T>>,
    phase: PackedPhase,
    _not_send: PhantomData<*const ()>,
}

impl<T: OpCode> Op<T> {
    /// Wraps an op; nothing is submitted until the first poll.
    #[inline]
    pub fn new(op: T) -> Self {
        Op {
            data: ManuallyDrop::new(Store::new(op)),
            phase: PackedPhase::UNSUBMITTED_PHASE,
            _not_send: PhantomData,
        }
    }

    /// Sends the output to `sink` if this future is dropped while the op is in flight, instead
    /// of releasing it (see [`Salvage`]).
    ///
    /// The sink is kept with the state: an inline state is boxed now (the box the driver would
    /// take if the op is dropped in flight), so ops without a sink, the hot ones, carry no room
    /// for one.
    pub fn salvage(mut self, sink: Rc<dyn Salvage<T::Output>>) -> Self {
        self.set_salvage(sink);
        self
    }

    /// [`salvage`](Self::salvage) in place: for a future that holds the op and learns only
    /// when it is dropped (with the op in flight) that the output should go to `sink`.
    pub fn set_salvage(&mut self, sink: Rc<dyn Salvage<T::Output>>) {
        if let Phase::Done = self.phase.get() {
            // Nothing left to salvage.
            return;
        }
        if let Store::Boxed(b) = &mut *self.data {
            b.sink = Some(sink);
            return;
        }
        // Not done: the state is here. It is taken and put back at once (only the `Store`
        // moves, which an inline state's contract allows, even in flight): `phase` is not
        // `DONE`, so `data` holds the state, and it is written back below before anything
        // reads it again (`Parked::new` aborts rather than unwinds when it cannot allocate).
        // SAFETY: as just said.
        let t = unsafe { ManuallyDrop::take(&mut self.data) }.into_inner();
        self.data = ManuallyDrop::new(Store::Boxed(Parked::new(t, Some(sink))));
    }

    /// The op's state while it has not been submitted (before its first poll, and after polls
    /// that did not submit it), to look at or adjust it; `None` once it was submitted,
    /// cancelled or completed.
    #[inline]
    pub fn unsubmitted_mut(&mut self) -> Option<&mut T> {
        match self.phase.get() {
            Phase::Unsubmitted => Some(self.data.get_mut()),
            _ => None,
        }
    }

    /// Whether the op's SQE reached the ring and its final CQE has not been taken yet.
    #[inline]
    pub fn is_in_flight(&self) -> bool {
        matches!(self.phase.get(), Phase::InFlight(..))
    }

    /// Asks the kernel to cancel the op, **keeping the future**: await it afterwards to get the
    /// output back with its buffers, either the result the op reached first or an `ECANCELED`
    /// error. Before submission the op is not submitted at all (it resolves to `ECANCELED`);
    /// after completion this does nothing.
    ///
    /// This is how to stop an op without losing its buffer or what it completed, which dropping
    /// it (in `select!` or `timeout`) cannot do.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringbolt_runtime::ops::Timeout;
    /// use std::time::Duration;
    ///
    /// ringbolt_runtime::Runtime::new().unwrap().block_on(async {
    ///     let mut op = Timeout::op(Duration::from_secs(60));
    ///     // Submit it, then change our mind.
    ///     let _ = ringbolt_runtime::time::timeout(Duration::from_millis(1), &mut op).await;
    ///     op.cancel();
    ///     let res = op.await;
    ///     assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    /// });
    /// ```
    pub fn cancel(&mut self) {
        match self.phase.get() {
            Phase::Unsubmitted => self.phase.set_cancelled(),
            Phase::InFlight(key, id) => {
                let _ = current::try_with_driver(|d| {
                    if d.id == id {
                        d.cancel_op(key);
                    }
                });
            }
            Phase::Cancelled | Phase::Done => {}
        }
    }

    /// Completes the op with `cqe`, handing the state back through `complete`.
    #[inline(always)]
    fn finish(&mut self, cqe: CqeResult) -> T::Output {
        // SAFETY: every caller matched a phase other than `DONE`, so `data` holds the state;
        // `DONE` is set now, so nothing reads or drops `data` again.
        let data = unsafe { ManuallyDrop::take(&mut self.data) };
        self.phase.set_done();
        data.into_inner().complete(cqe)
    }
}

impl<T: OpCode> Unpin for Op<T> {}

impl<T: OpCode> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        // The state stays in `this.data` while the op is in flight: it is taken only once its
        // final CQE is here (rule 2), so every panic below (no runtime, wrong runtime, busy
        // driver) unwinds with the state still in place, and `Drop` parks or leaks it.
        match this.phase.get() {
            // The hot case first: a completion to take.
            Phase::InFlight(key, id) => {
                match current::try_with_driver(|d| (d.id == id).then(|| d.poll_op(key, cx.waker())))
                {
                    // The final CQE is here: the kernel is done with the state.
                    Ok(Some(Poll::Ready(Some(cqe)))) => Poll::Ready(this.finish(cqe.into())),
                    Ok(Some(Poll::Pending)) => Poll::Pending,
                    // The slot is not this op's: a driver bug. Keep the state (the drop leaks
                    // it) rather than free memory the kernel may still use.
                    Ok(Some(Poll::Ready(None))) => panic!("{}", super::lost_slot()),
                    Ok(None) => panic!("ringbolt Op polled on a runtime that does not own it"),
                    Err(why) => panic!("{}", why.in_flight_message()),
                }
            }
            Phase::Cancelled => {
                let e = io::Error::from_raw_os_error(libc::ECANCELED);
                Poll::Ready(this.finish(CqeResult::error(e)))
            }
            Phase::Unsubmitted => {
                // An unsubmitted op has its state.
                let data = this.data.get_mut();
                // One `finish` for every way the op ends here (it is inlined at each call).
                let cqe = if let Err(e) = data.validate() {
                    CqeResult::error(e)
                } else if let Some(res) = data.try_inline() {
                    CqeResult::inline(res)
                } else {
                    let entry = data.build();
                    match current::try_with_driver(|d| {
                        d.submit(entry, cx.waker()).map(|k| (k, d.id))
                    }) {
                        Ok(Ok((Submitted::InFlight(key), id))) => {
                            this.phase.set_in_flight(key, id);
                            return Poll::Pending;
                        }
                        // Completed during the submission (epoll driver): nothing is in flight.
                        Ok(Ok((Submitted::Done(cqe), _))) => cqe.into(),
                        // Nothing reached the kernel: the state may go back to the caller.
                        Ok(Err(e)) => CqeResult::error(e),
                        Err(why) => CqeResult::error(no_driver_error(why)),
                    }
                };
                Poll::Ready(this.finish(cqe))
            }
            Phase::Done => panic!("ringbolt Op polled after it completed"),
        }
    }
}

/// The error an op that was never submitted gets when there is no driver to submit it to.
#[cold]
fn no_driver_error(why: current::NoDriver) -> io::Error {
    match why {
        current::NoDriver::Outside => io::Error::other(
            "ringbolt I/O must be polled inside a ringbolt runtime (Runtime::block_on or a \
             spawned task)",
        ),
        current::NoDriver::Busy => io::Error::new(
            io::ErrorKind::WouldBlock,
            "ringbolt I/O polled while the driver was busy (re-entrant poll)",
        ),
    }
}

impl<T: OpCode> Op<T> {
    /// Hands the state of an op dropped in flight to the driver (rule 2). Out of line: the
    /// drop of a completed op, the hot case, is then one compare.
    #[cold]
    #[inline(never)]
    fn park(&mut self, key: Key, id: u64) {
        // SAFETY: the op is in flight (the caller matched it), so `data` holds the state;
        // `DONE` is set now, so nothing reads or drops `data` again.
        let data = unsafe { ManuallyDrop::take(&mut self.data) };
        self.phase.set_done();
        let orphan: Box<dyn Orphan> = data.into_parked();
        current::drop_op(id, key, orphan);
    }
}

impl<T: OpCode> Drop for Op<T> {
    #[inline]
    fn drop(&mut self) {
        match self.phase.get() {
            Phase::InFlight(key, id) => self.park(key, id),
            // `finish` took the state: nothing to drop (the hot case, one compare).
            Phase::Done => {}
            // Never submitted: the state goes (out of line, so the hot drop stays small).
            Phase::Unsubmitted | Phase::Cancelled => self.drop_unsubmitted(),
        }
    }
}

impl<T: OpCode> Op<T> {
    /// `Drop` of an op that never reached the ring: drops its state.
    #[cold]
    #[inline(never)]
    fn drop_unsubmitted(&mut self) {
        // Only `Drop` calls this, for a phase that is not `DONE`: `data` holds the state, and
        // nothing uses `data` after the op's drop.
        // SAFETY: as just said.
        unsafe { ManuallyDrop::drop(&mut self.data) }
    }
}

/// A multishot operation as a stream of items; see [`MultishotOpCode`].
///
/// Submitted on the first poll. After the final CQE (one without `F_MORE`) has been yielded,
/// [`MultiOp::next`] returns `None`: the kernel ended the stream (error, cancellation, or
/// resource shortage such as `ENOBUFS`) and the caller decides whether to start a new one.
#[must_use = "a MultiOp does nothing until polled"]
pub struct MultiOp<T: MultishotOpCode> {
    /// The state: `Some` until the stream ended (or was parked in the driver by `Drop`). It
    /// leaves while `phase` is in flight only through those two.
    data: Option<Box<Multi<T>>>,
    /// Unsubmitted, in flight (key and driver), or done; `CANCELLED` is not used here (a
    /// stream cancelled before submission is simply done).
    phase: PackedPhase,
    _not_send: PhantomData<*const ()>,
}

/// What polling a stream's slot in the current driver gave: `Err` without a usable driver,
/// `Ok(None)` on a driver that does not hold the stream.
type StreamPolled = Result<Option<Poll<Option<(super::RawCqe, bool)>>>, current::NoDriver>;

impl<T: MultishotOpCode> MultiOp<T> {
    /// Wraps a multishot op; nothing is submitted until the first poll.
    pub fn new(op: T) -> Self {
        MultiOp {
            data: Some(Box::new(Multi {
                op,
                sink: None,
                deferred: false,
            })),
            phase: PackedPhase::UNSUBMITTED_PHASE,
            _not_send: PhantomData,
        }
    }

    /// Sends the items the kernel still produces to `sink` if this stream is dropped while in
    /// flight (and the items already queued when it is dropped), instead of releasing them;
    /// see [`Salvage`].
    pub fn salvage(mut self, sink: Rc<dyn Salvage<T::Item>>) -> Self {
        if let Some(m) = &mut self.data {
            m.sink = Some(sink);
        }
        self
    }

    /// Asks the kernel to end the stream. Keep polling: the items it produced before the
    /// cancellation took effect still come, then `None`.
    pub fn cancel(&mut self) {
        match self.phase.get() {
            Phase::Unsubmitted => self.finish(),
            Phase::InFlight(key, id) => {
                let _ = current::try_with_driver(|d| {
                    if d.id == id {
                        d.cancel_op(key);
                    }
                });
            }
            Phase::Cancelled | Phase::Done => {}
        }
    }

    /// Ends the stream on this side: the state goes (the driver no longer has it, or never had).
    fn finish(&mut self) {
        self.phase.set_done();
        self.data = None;
    }

    /// Polls for the next item; `Ready(None)` once the stream has ended.
    ///
    /// # Panics
    ///
    /// Panics when the stream is in flight and polled outside the runtime that submitted it
    /// (its state stays with the kernel and is leaked, never freed).
    #[inline]
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        // As in `Op::poll`: the state is matched in place and leaves `self.data` only once the
        // driver has reaped the stream's final CQE. The hot case (in flight on this driver,
        // a CQE waiting or none) is inline; the rest is out of line.
        if let Phase::InFlight(key, id) = self.phase.get() {
            let polled = current::try_with_driver(|d| (d.id == id).then(|| d.poll_stream(key, cx)));
            return match polled {
                Ok(Some(Poll::Pending)) => Poll::Pending,
                Ok(Some(Poll::Ready(Some((cqe, false))))) => {
                    // `data` leaves only in `finish` and `drop`, which mark the stream done
                    // first: a stream in flight has its state (checked in debug builds).
                    debug_assert!(self.data.is_some(), "an in-flight stream has its state");
                    // SAFETY: the invariant just stated: `data` is `Some` here.
                    let data = unsafe { self.data.as_mut().unwrap_unchecked() };
                    Poll::Ready(Some(data.op.next_raw(cqe.res, cqe.flags)))
                }
                other => self.poll_in_flight_cold(other),
            };
        }
        self.poll_cold(cx)
    }

    /// [`poll_next`](Self::poll_next) in flight, past the hot case: the final CQE, the end of
    /// the stream, or the panics.
    #[cold]
    #[inline(never)]
    fn poll_in_flight_cold(&mut self, polled: StreamPolled) -> Poll<Option<T::Item>> {
        match polled {
            Ok(Some(Poll::Ready(Some((cqe, last))))) => {
                let Some(data) = &mut self.data else {
                    unreachable!("an in-flight stream has its state")
                };
                let item = data.op.next(cqe.into());
                if last {
                    // The driver freed the slot with the final CQE: the box may go.
                    self.finish();
                }
                Poll::Ready(Some(item))
            }
            // The stream ended and every item was taken: the slot is free.
            Ok(Some(Poll::Ready(None))) => {
                self.finish();
                Poll::Ready(None)
            }
            Ok(Some(Poll::Pending)) => Poll::Pending,
            Ok(None) => panic!("ringbolt MultiOp polled on a runtime that does not own it"),
            Err(why) => panic!("{}", why.in_flight_message()),
        }
    }

    /// [`poll_next`](Self::poll_next) when not in flight: the submission on the first poll,
    /// or the end once done.
    #[cold]
    #[inline(never)]
    fn poll_cold(&mut self, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        match self.phase.get() {
            Phase::InFlight(..) => unreachable!("poll_next handles a stream in flight"),
            Phase::Unsubmitted => {
                let Some(data) = &mut self.data else {
                    unreachable!("an unsubmitted stream has its state")
                };
                if let Err(e) = data.op.validate() {
                    let item = data.op.next(CqeResult::error(e));
                    self.finish();
                    return Poll::Ready(Some(item));
                }
                let entry = data.op.build();
                let waker = cx.waker().clone();
                let err = match current::try_with_driver(|d| {
                    d.submit_multishot(entry, waker).map(|k| (k, d.id))
                }) {
                    Ok(Ok((key, id))) => {
                        self.phase.set_in_flight(key, id);
                        return Poll::Pending;
                    }
                    Ok(Err(e)) => e,
                    Err(why) => no_driver_error(why),
                };
                let item = data.op.next(CqeResult::error(err));
                self.finish();
                Poll::Ready(Some(item))
            }
            Phase::Cancelled | Phase::Done => Poll::Ready(None),
        }
    }

    /// The next item, or `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<T::Item> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Whether the kernel has ended the stream and every item was taken.
    pub fn is_terminated(&self) -> bool {
        matches!(self.phase.get(), Phase::Cancelled | Phase::Done)
    }
}

impl<T: MultishotOpCode> Drop for MultiOp<T> {
    fn drop(&mut self) {
        if let Phase::InFlight(key, id) = self.phase.get() {
            self.phase.set_done();
            if let Some(data) = self.data.take() {
                let orphan: Box<dyn Orphan> = data;
                current::drop_stream(id, key, orphan);
            }
        }
    }
}

impl CqeResult {
    /// The result of an op performed at once by [`OpCode::try_inline`].
    #[inline]
    pub(crate) fn inline(result: io::Result<u32>) -> Self {
        CqeResult {
            result,
            flags: 0,
            submitted: true,
        }
    }

    /// A result that never reached the kernel.
    pub(crate) fn error(e: io::Error) -> Self {
        CqeResult {
            result: Err(e),
            flags: 0,
            submitted: false,
        }
    }
}
