//! [`RunQueue`]: a core's queue of tasks ready to run, a power-of-two ring without a borrow
//! flag (a push or a pop is a few loads and stores).
//!
//! Rules:
//! 1. Owner thread only (it lives in the `!Sync` scheduler), and no reference into the buffer
//!    outlives one call of a method: a push that grows the buffer, or a trim that replaces it,
//!    never leaves one dangling. No method runs code of a task (a drop, a wake) while it holds
//!    one, so a re-entrant push (a task woken by a drop) finds the queue consistent.
//! 2. `head` and `tail` count pops and pushes (wrapping `u32`); the slots `head..tail`, taken
//!    modulo the capacity, hold initialised `TaskRef`s, each owning one counted reference; every
//!    other slot is uninitialised.
//! 3. The capacity is a power of two, at most 2^31, so `tail - head` (wrapping) is the length
//!    without ambiguity, and a slot's index is its counter masked with `mask`, which is always
//!    `capacity - 1` (both change together, in `resize`).

use super::task::TaskRef;
use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;

/// The largest capacity (rule 3).
const MAX_CAPACITY: usize = 1 << 31;

pub(crate) struct RunQueue {
    /// Pops so far (wrapping): the next task to run is at `head & mask`.
    head: Cell<u32>,
    /// Pushes so far (wrapping): the next free slot is at `tail & mask`.
    tail: Cell<u32>,
    /// The capacity minus one (rule 3).
    mask: Cell<u32>,
    /// The slots; the length is the capacity, a power of two (rule 3).
    buf: UnsafeCell<Box<[MaybeUninit<TaskRef>]>>,
}

impl RunQueue {
    /// A queue with room for `capacity` tasks (rounded up to a power of two) before it grows.
    pub(crate) fn with_capacity(capacity: usize) -> RunQueue {
        let buf = slots(capacity);
        RunQueue {
            head: Cell::new(0),
            tail: Cell::new(0),
            mask: Cell::new((buf.len() - 1) as u32),
            buf: UnsafeCell::new(buf),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.get() == self.tail.get()
    }

    /// The number of slots.
    pub(crate) fn capacity(&self) -> usize {
        self.mask.get() as usize + 1
    }

    /// Appends a task (it keeps the reference `task` owns).
    #[inline(always)]
    pub(crate) fn push(&self, task: TaskRef) {
        let tail = self.tail.get();
        let mask = self.mask.get();
        if tail.wrapping_sub(self.head.get()) > mask {
            return self.push_grow(task);
        }
        // SAFETY: rule 1: owner thread, and this is the only reference to the buffer until
        // this call returns (nothing below runs a task's code).
        let buf = unsafe { &mut *self.buf.get() };
        // SAFETY: the queue is not full, so slot `tail` lies outside `head..tail` and holds
        // nothing (rule 2); masked with `capacity - 1`, the index is within the buffer (rule 3).
        unsafe { buf.get_unchecked_mut((tail & mask) as usize) }.write(task);
        self.tail.set(tail.wrapping_add(1));
    }

    /// Takes the task that was pushed first.
    #[inline]
    pub(crate) fn pop(&self) -> Option<TaskRef> {
        let head = self.head.get();
        if head == self.tail.get() {
            return None;
        }
        let slot = (head & self.mask.get()) as usize;
        // SAFETY: rule 1: owner thread, and no `&mut` to the buffer is live during this call.
        let buf = unsafe { &*self.buf.get() };
        // Masked with `capacity - 1`, the index is within the buffer (rule 3).
        // SAFETY: `head != tail`, so slot `head` holds an initialised `TaskRef` (rule 2); it
        // moves out, and advancing `head` below marks the slot free: it is read once.
        let task = unsafe { buf.get_unchecked(slot).assume_init_read() };
        self.head.set(head.wrapping_add(1));
        Some(task)
    }

    /// `push` into a full queue: doubles the buffer first.
    #[cold]
    #[inline(never)]
    fn push_grow(&self, task: TaskRef) {
        let cap = self.capacity();
        assert!(cap < MAX_CAPACITY, "ringbolt: run queue full (2^31 tasks)");
        self.resize(cap * 2);
        self.push(task);
    }

    /// Gives back the room of an empty queue that a burst grew beyond `16 * keep` slots.
    #[inline]
    pub(crate) fn trim(&self, keep: usize) {
        if self.capacity() > 16 * keep && self.is_empty() {
            self.resize(keep);
        }
    }

    /// Moves the queued tasks, in order, to a new buffer of `capacity` slots (at least the
    /// length; rounded up to a power of two).
    #[cold]
    #[inline(never)]
    fn resize(&self, capacity: usize) {
        let head = self.head.get();
        let len = self.tail.get().wrapping_sub(head);
        let mut new = slots(capacity.max(len as usize));
        // SAFETY: rule 1: owner thread, and this is the only reference to the buffer until
        // this call returns (moving `TaskRef`s runs no code of theirs).
        let old = unsafe { &mut *self.buf.get() };
        let mask = old.len() - 1;
        for i in 0..len {
            let from = head.wrapping_add(i) as usize & mask;
            // Slot `head + i` is within `head..tail`; the old buffer is dropped below as
            // `MaybeUninit`, so the moved reference is not dropped twice.
            // SAFETY: that slot holds an initialised `TaskRef` (rule 2), moved out once.
            let task = unsafe { old[from].assume_init_read() };
            new[i as usize].write(task);
        }
        self.mask.set((new.len() - 1) as u32);
        *old = new;
        self.head.set(0);
        self.tail.set(len);
    }
}

/// `capacity` uninitialised slots, rounded up to a power of two (at least one).
fn slots(capacity: usize) -> Box<[MaybeUninit<TaskRef>]> {
    let capacity = capacity.max(1).next_power_of_two();
    assert!(capacity <= MAX_CAPACITY, "ringbolt: run queue too large");
    Box::new_uninit_slice(capacity)
}

impl Drop for RunQueue {
    fn drop(&mut self) {
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::remote::Shared;
    use std::sync::Arc;

    fn task(shared: &Arc<Shared>) -> TaskRef {
        crate::executor::task::test_task(shared)
    }

    #[test]
    fn fifo_across_growth_wraparound_and_trim() {
        let shared = Arc::new(Shared::new().expect("shared"));
        let q = RunQueue::with_capacity(3);
        assert_eq!(q.capacity(), 4);
        assert!(q.pop().is_none());
        let mut model = std::collections::VecDeque::new();
        // Interleave pushes and pops so that the counters wrap around the buffer many times
        // and the buffer grows while its contents wrap.
        for round in 0..200usize {
            for _ in 0..(round % 7) + 1 {
                let t = task(&shared);
                model.push_back(t.as_ptr());
                q.push(t);
            }
            for _ in 0..(round % 5) {
                let got = q.pop().map(|t| t.as_ptr());
                assert_eq!(got, model.pop_front());
            }
        }
        assert!(q.capacity().is_power_of_two() && q.capacity() >= model.len());
        while let Some(t) = q.pop() {
            assert_eq!(Some(t.as_ptr()), model.pop_front());
        }
        assert!(model.is_empty() && q.is_empty());
        q.trim(1);
        assert_eq!(q.capacity(), 1);
        // Tasks left in the queue are released with it.
        for _ in 0..5 {
            q.push(task(&shared));
        }
        drop(q);
        assert_eq!(Arc::strong_count(&shared), 1);
    }

    #[test]
    fn counters_wrap_past_u32_max() {
        let shared = Arc::new(Shared::new().expect("shared"));
        let q = RunQueue::with_capacity(4);
        q.head.set(u32::MAX - 2);
        q.tail.set(u32::MAX - 2);
        let mut model = std::collections::VecDeque::new();
        for _ in 0..3 {
            for _ in 0..2 {
                let t = task(&shared);
                model.push_back(t.as_ptr());
                q.push(t);
            }
            assert_eq!(q.pop().map(|t| t.as_ptr()), model.pop_front());
        }
        // Three left, across the wrap; growing keeps their order.
        for _ in 0..4 {
            let t = task(&shared);
            model.push_back(t.as_ptr());
            q.push(t);
        }
        assert_eq!(q.capacity(), 8);
        while let Some(t) = q.pop() {
            assert_eq!(Some(t.as_ptr()), model.pop_front());
        }
        assert!(model.is_empty());
    }
}
