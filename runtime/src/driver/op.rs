//! The op lifecycle: [`OpCode`], [`Op`] and [`MultiOp`].
//!
//! Rules (every op follows them; the driver enforces the ones it can):
//! 1. An op's state (buffers, `sockaddr`, `msghdr`, `iovec`, paths, the fd handle) is boxed
//!    before its SQE is built, and the SQE points only into that box.
//! 2. Once its SQE is pushed, the box lives until the op's **final** CQE (one without
//!    `IORING_CQE_F_MORE`) has been reaped, whatever happens to the future: a dropped `Op`
//!    hands its box to the driver, which queues `IORING_OP_ASYNC_CANCEL` and keeps the box until
//!    the final CQE, then calls [`OpCode::release`] so that a resource the kernel created anyway
//!    (an accepted or opened fd) is closed.
//! 3. A slot in the in-flight slab is freed only by its own final CQE, and `user_data` carries a
//!    generation, so a stale CQE never reaches a reused slot.
//! 4. `mem::forget` of an in-flight op leaks its box; the kernel keeps writing into valid memory.
//! 5. An op is submitted on its first poll. An op dropped before that never reaches the kernel.
//! 6. The state never leaves the place the driver can find it (the `Op`, or the slab once
//!    orphaned) before the final CQE: `poll` matches it in place, and every "no runtime",
//!    "wrong runtime" or "driver busy" path panics or errors with the state still there, so the
//!    unwind's `Drop` parks it (own driver current) or leaks it (anywhere else).

use super::{CqeResult, Key};
use crate::context;
use io_uring::squeue::Entry;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One io_uring operation: how to build its SQE and what its CQE means.
///
/// Implemented by the op types in [`crate::ops`]; implement it for a new opcode when ringbolt
/// lacks one.
///
/// # Safety
///
/// - Every pointer that `build` writes into the SQE must point into memory owned by `self` (or
///   `'static`), and stay valid and unmoved while `self` is alive. The driver keeps `self` boxed
///   and alive until the final CQE, so pointers into `self`'s own fields and heap buffers are
///   exactly what is allowed.
/// - `build` must not set `user_data` (the driver does) and must not create linked chains.
pub unsafe trait OpCode: 'static {
    /// What awaiting the op yields.
    type Output;

    /// Checks, on the thread about to submit, that the op may run on the current ring (for
    /// example that a resource it names was registered with this ring). An error completes
    /// the op with that error without submitting it. The default accepts.
    fn validate(&self) -> io::Result<()> {
        Ok(())
    }

    /// Builds the SQE. Called once, after `self` was boxed.
    fn build(&mut self) -> Entry;

    /// Turns the final CQE into the output, handing owned buffers back.
    fn complete(self: Box<Self>, cqe: CqeResult) -> Self::Output;

    /// Called instead of `complete` when the final CQE arrives after the future was dropped.
    /// The default completes and drops the output; an op whose output owns a resource (an
    /// `OwnedFd`) therefore releases it by dropping it.
    fn release(self: Box<Self>, cqe: CqeResult) {
        drop(self.complete(cqe));
    }
}

/// A multishot operation: one SQE, a stream of CQEs, the last one without `IORING_CQE_F_MORE`.
///
/// # Safety
///
/// The same obligations as [`OpCode`].
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

    /// Releases what a CQE created when nobody will take its item. Defaults to dropping the item.
    fn release(&mut self, cqe: CqeResult) {
        drop(self.next(cqe));
    }
}

/// What the driver keeps of an op whose future was dropped while it was in flight.
pub(crate) trait Orphan {
    /// A CQE with `F_MORE`: the op goes on.
    fn more(&mut self, cqe: CqeResult);
    /// The final CQE.
    fn finish(self: Box<Self>, cqe: CqeResult);
}

impl<T: OpCode> Orphan for T {
    fn more(&mut self, _cqe: CqeResult) {}
    fn finish(self: Box<Self>, cqe: CqeResult) {
        self.release(cqe);
    }
}

/// Boxed state of a multishot op (a distinct type so that it has its own `Orphan` impl).
struct Multi<T>(T);

impl<T: MultishotOpCode> Orphan for Multi<T> {
    fn more(&mut self, cqe: CqeResult) {
        self.0.release(cqe);
    }
    fn finish(mut self: Box<Self>, cqe: CqeResult) {
        self.0.release(cqe);
    }
}

/// Where the op is: `InFlight` carries its slab key and the id of the driver whose ring holds
/// the SQE, so it is only ever polled or dropped into that driver.
enum State<T> {
    Unsubmitted(Box<T>),
    InFlight(Box<T>, Key, u64),
    Done,
}

/// The future of one io_uring operation. Resolves to [`OpCode::Output`].
///
/// Submitted on first poll; dropping it in flight cancels it (see the module rules).
/// `!Send`: an op belongs to the ring of the core that submitted it.
#[must_use = "an Op does nothing until awaited"]
pub struct Op<T: OpCode> {
    state: State<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T: OpCode> Op<T> {
    /// Wraps an op; nothing is submitted until the first poll.
    pub fn new(op: T) -> Self {
        Op {
            state: State::Unsubmitted(Box::new(op)),
            _not_send: PhantomData,
        }
    }
}

impl<T: OpCode> Unpin for Op<T> {}

impl<T: OpCode> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        // The state is matched in place: an in-flight op's box never leaves `this.state` until
        // its final CQE was taken (rule 2), so every panic below (no runtime, wrong runtime,
        // busy driver) unwinds with the box still here, and `Drop` parks or leaks it.
        match &mut this.state {
            State::Unsubmitted(data) => {
                if let Err(e) = data.validate() {
                    return Poll::Ready(this.take_unsubmitted().complete(CqeResult::error(e)));
                }
                let entry = data.build();
                match context::try_with_driver(|d| d.submit(entry, cx.waker()).map(|k| (k, d.id))) {
                    Ok(Ok((key, id))) => {
                        let data = this.take_unsubmitted();
                        this.state = State::InFlight(data, key, id);
                        Poll::Pending
                    }
                    // Nothing reached the kernel: the state may go back to the caller.
                    Ok(Err(e)) => {
                        Poll::Ready(this.take_unsubmitted().complete(CqeResult::error(e)))
                    }
                    Err(why) => Poll::Ready(
                        this.take_unsubmitted()
                            .complete(CqeResult::error(no_driver_error(why))),
                    ),
                }
            }
            State::InFlight(_, key, id) => {
                let (key, id) = (*key, *id);
                match context::try_with_driver(|d| (d.id == id).then(|| d.poll_op(key, cx.waker())))
                {
                    Ok(Some(Poll::Ready(Some(cqe)))) => {
                        // The final CQE is here: the kernel is done with the state.
                        let State::InFlight(data, ..) =
                            std::mem::replace(&mut this.state, State::Done)
                        else {
                            unreachable!("matched InFlight above")
                        };
                        Poll::Ready(data.complete(cqe.into()))
                    }
                    Ok(Some(Poll::Pending)) => Poll::Pending,
                    // The slot is not this op's: a driver bug. Keep the state (the drop leaks
                    // it) rather than free memory the kernel may still use.
                    Ok(Some(Poll::Ready(None))) => panic!("{}", super::lost_slot()),
                    Ok(None) => panic!("ringbolt Op polled on a runtime that does not own it"),
                    Err(why) => panic!("{}", why.in_flight_message()),
                }
            }
            State::Done => panic!("ringbolt Op polled after it completed"),
        }
    }
}

impl<T: OpCode> Op<T> {
    /// Takes the state of an op that never reached the kernel.
    fn take_unsubmitted(&mut self) -> Box<T> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Unsubmitted(data) => data,
            _ => unreachable!("only called on an unsubmitted op"),
        }
    }
}

/// The error an op that was never submitted gets when there is no driver to submit it to.
#[cold]
fn no_driver_error(why: context::NoDriver) -> io::Error {
    match why {
        context::NoDriver::Outside => io::Error::other(
            "ringbolt I/O must be polled inside a ringbolt runtime (Runtime::block_on or a \
             spawned task)",
        ),
        context::NoDriver::Busy => io::Error::new(
            io::ErrorKind::WouldBlock,
            "ringbolt I/O polled while the driver was busy (re-entrant poll)",
        ),
    }
}

impl<T: OpCode> Drop for Op<T> {
    fn drop(&mut self) {
        if let State::InFlight(data, key, id) = std::mem::replace(&mut self.state, State::Done) {
            let orphan: Box<dyn Orphan> = data;
            context::drop_op(id, key, orphan);
        }
    }
}

/// A multishot operation as a stream of items; see [`MultishotOpCode`].
///
/// Submitted on the first poll. After the final CQE (one without `F_MORE`) has been yielded,
/// [`MultiOp::next`] returns `None`: the kernel ended the stream (error, cancellation, or
/// resource shortage such as `ENOBUFS`) and the caller decides whether to start a new one.
#[must_use = "a MultiOp does nothing until polled"]
pub struct MultiOp<T: MultishotOpCode> {
    state: State<Multi<T>>,
    _not_send: PhantomData<*const ()>,
}

impl<T: MultishotOpCode> MultiOp<T> {
    /// Wraps a multishot op; nothing is submitted until the first poll.
    pub fn new(op: T) -> Self {
        MultiOp {
            state: State::Unsubmitted(Box::new(Multi(op))),
            _not_send: PhantomData,
        }
    }

    /// Polls for the next item; `Ready(None)` once the stream has ended.
    ///
    /// # Panics
    ///
    /// Panics when the stream is in flight and polled outside the runtime that submitted it
    /// (its state stays with the kernel and is leaked, never freed).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        // As in `Op::poll`: the state is matched in place and leaves `self.state` only once the
        // driver has reaped the stream's final CQE.
        match &mut self.state {
            State::Unsubmitted(data) => {
                if let Err(e) = data.0.validate() {
                    let mut data = self.take_unsubmitted();
                    return Poll::Ready(Some(data.0.next(CqeResult::error(e))));
                }
                let entry = data.0.build();
                let waker = cx.waker().clone();
                match context::try_with_driver(|d| {
                    d.submit_multishot(entry, waker).map(|k| (k, d.id))
                }) {
                    Ok(Ok((key, id))) => {
                        let data = self.take_unsubmitted();
                        self.state = State::InFlight(data, key, id);
                        Poll::Pending
                    }
                    Ok(Err(e)) => {
                        let mut data = self.take_unsubmitted();
                        Poll::Ready(Some(data.0.next(CqeResult::error(e))))
                    }
                    Err(why) => {
                        let mut data = self.take_unsubmitted();
                        Poll::Ready(Some(data.0.next(CqeResult::error(no_driver_error(why)))))
                    }
                }
            }
            State::InFlight(_, key, id) => {
                let (key, id) = (*key, *id);
                match context::try_with_driver(|d| (d.id == id).then(|| d.poll_stream(key, cx))) {
                    Ok(Some(Poll::Ready(Some((cqe, last))))) => {
                        let State::InFlight(data, ..) = &mut self.state else {
                            unreachable!("matched InFlight above")
                        };
                        let item = data.0.next(cqe.into());
                        if last {
                            // The driver freed the slot with the final CQE: the box may go.
                            self.state = State::Done;
                        }
                        Poll::Ready(Some(item))
                    }
                    // The stream ended and every item was taken: the slot is free.
                    Ok(Some(Poll::Ready(None))) => {
                        self.state = State::Done;
                        Poll::Ready(None)
                    }
                    Ok(Some(Poll::Pending)) => Poll::Pending,
                    Ok(None) => panic!("ringbolt MultiOp polled on a runtime that does not own it"),
                    Err(why) => panic!("{}", why.in_flight_message()),
                }
            }
            State::Done => Poll::Ready(None),
        }
    }

    fn take_unsubmitted(&mut self) -> Box<Multi<T>> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Unsubmitted(data) => data,
            _ => unreachable!("only called on an unsubmitted op"),
        }
    }

    /// The next item, or `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<T::Item> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Whether the kernel has ended the stream and every item was taken.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl<T: MultishotOpCode> Drop for MultiOp<T> {
    fn drop(&mut self) {
        if let State::InFlight(data, key, id) = std::mem::replace(&mut self.state, State::Done) {
            let orphan: Box<dyn Orphan> = data;
            context::drop_stream(id, key, orphan);
        }
    }
}

impl CqeResult {
    /// A result that never reached the kernel.
    pub(crate) fn error(e: io::Error) -> Self {
        CqeResult {
            result: Err(e),
            flags: 0,
            submitted: false,
        }
    }
}
