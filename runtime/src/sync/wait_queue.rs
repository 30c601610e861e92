//! The FIFO wait queue every local primitive parks its waiters in.
//!
//! Rules:
//! 1. A waiter is an entry with a stable key (a slab index). The future that pushed it owns the
//!    key and is the only code that removes the entry, so a key never names someone else's entry.
//! 2. An entry is either *linked* (still waiting, in FIFO order) or *unlinked* (the primitive has
//!    decided its outcome and stored it in the entry's value). Unlinking takes the waker.
//! 3. Removing a linked entry is O(1): the list is doubly linked through slab indices.
//! 4. Wakers are never called while a primitive's `RefCell` is borrowed: they are collected in a
//!    [`WakeList`] and woken after the borrow ends.

use std::cell::Cell;
use std::task::Waker;

use slab::Slab;

/// "No neighbour" marker for the intrusive links.
const NIL: usize = usize::MAX;

/// A FIFO queue of waiters with stable keys and O(1) removal from anywhere.
pub(crate) struct WaitQueue<T> {
    entries: Slab<Entry<T>>,
    head: usize,
    tail: usize,
    linked_len: usize,
}

struct Entry<T> {
    prev: usize,
    next: usize,
    linked: bool,
    waker: Option<Waker>,
    value: T,
}

impl<T> WaitQueue<T> {
    /// An empty queue; does not allocate.
    pub(crate) const fn new() -> Self {
        WaitQueue {
            entries: Slab::new(),
            head: NIL,
            tail: NIL,
            linked_len: 0,
        }
    }

    /// True when no entry is linked (waiting).
    pub(crate) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Number of linked (waiting) entries.
    pub(crate) fn len(&self) -> usize {
        self.linked_len
    }

    /// Links a new entry at the back and returns its key.
    pub(crate) fn push_back(&mut self, value: T, waker: Waker) -> usize {
        let key = self.entries.insert(Entry {
            prev: self.tail,
            next: NIL,
            linked: true,
            waker: Some(waker),
            value,
        });
        match self.tail {
            NIL => self.head = key,
            tail => self.entries[tail].next = key,
        }
        self.tail = key;
        self.linked_len += 1;
        key
    }

    /// The value of the first linked entry.
    pub(crate) fn front(&self) -> Option<&T> {
        match self.head {
            NIL => None,
            head => Some(&self.entries[head].value),
        }
    }

    /// Unlinks the first entry; returns its value (still stored under its key) and its waker.
    pub(crate) fn pop_front(&mut self) -> Option<(&mut T, Option<Waker>)> {
        match self.head {
            NIL => None,
            head => Some(self.unlink(head)),
        }
    }

    /// Unlinks the last entry; returns its value (still stored under its key) and its waker.
    pub(crate) fn pop_back(&mut self) -> Option<(&mut T, Option<Waker>)> {
        match self.tail {
            NIL => None,
            tail => Some(self.unlink(tail)),
        }
    }

    /// The value stored under `key`.
    ///
    /// # Panics
    /// If `key` is not live; by rule 1 only the owner of a live key calls this.
    pub(crate) fn get(&self, key: usize) -> &T {
        &self.entries[key].value
    }

    /// True while the entry under `key` is still waiting.
    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.entries[key].linked
    }

    /// Replaces the waker of a linked entry, skipping the clone when it would wake the same task.
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let slot = &mut self.entries[key].waker;
        match slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Removes the entry under `key` (linked or not) and returns its value.
    pub(crate) fn remove(&mut self, key: usize) -> T {
        if self.entries[key].linked {
            self.unlink(key);
        }
        self.entries.remove(key).value
    }

    fn unlink(&mut self, key: usize) -> (&mut T, Option<Waker>) {
        let (prev, next) = {
            let entry = &mut self.entries[key];
            debug_assert!(entry.linked, "unlinking an entry that is not linked");
            entry.linked = false;
            (entry.prev, entry.next)
        };
        match prev {
            NIL => self.head = next,
            prev => self.entries[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.entries[next].prev = prev,
        }
        self.linked_len -= 1;
        let entry = &mut self.entries[key];
        entry.prev = NIL;
        entry.next = NIL;
        (&mut entry.value, entry.waker.take())
    }
}

/// Wakers collected under a borrow, woken after it (rule 4).
///
/// The first waker is stored inline, so waking a single waiter does not allocate.
#[derive(Default)]
pub(crate) struct WakeList {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl WakeList {
    /// An empty list; does not allocate.
    pub(crate) const fn new() -> Self {
        WakeList {
            first: None,
            rest: Vec::new(),
        }
    }

    /// Adds a waker, if there is one.
    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    /// Wakes everything in the order it was pushed.
    pub(crate) fn wake_all(self) {
        if let Some(first) = self.first {
            first.wake();
        }
        for waker in self.rest {
            waker.wake();
        }
    }
}

/// Stores `waker` in a single-waiter slot unless the one there already wakes the same task.
pub(crate) fn register_waker(slot: &Cell<Option<Waker>>, waker: &Waker) {
    match slot.take() {
        Some(old) if old.will_wake(waker) => slot.set(Some(old)),
        _ => slot.set(Some(waker.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn order(q: &mut WaitQueue<u32>) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some((v, w)) = q.pop_front() {
            assert!(w.is_some());
            out.push(*v);
        }
        out
    }

    #[test]
    fn fifo_order_and_len() {
        let mut q = WaitQueue::new();
        assert!(q.is_empty());
        for i in 0..5 {
            q.push_back(i, Waker::noop().clone());
        }
        assert_eq!(q.len(), 5);
        assert_eq!(q.front(), Some(&0));
        assert_eq!(order(&mut q), vec![0, 1, 2, 3, 4]);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn remove_from_middle_head_and_tail() {
        let mut q = WaitQueue::new();
        let keys: Vec<usize> = (0..5)
            .map(|i| q.push_back(i, Waker::noop().clone()))
            .collect();
        assert_eq!(q.remove(keys[2]), 2);
        assert_eq!(q.remove(keys[0]), 0);
        assert_eq!(q.remove(keys[4]), 4);
        assert_eq!(q.len(), 2);
        assert_eq!(order(&mut q), vec![1, 3]);
    }

    #[test]
    fn unlinked_entry_keeps_its_value_until_removed() {
        let mut q = WaitQueue::new();
        let a = q.push_back(10, Waker::noop().clone());
        let b = q.push_back(20, Waker::noop().clone());
        let (v, w) = q.pop_front().expect("one entry");
        *v = 11;
        assert!(w.is_some());
        assert!(!q.is_linked(a));
        assert!(q.is_linked(b));
        assert_eq!(*q.get(a), 11);
        assert_eq!(q.remove(a), 11);
        let (v, _) = q.pop_back().expect("one entry");
        assert_eq!(*v, 20);
        assert!(q.is_empty());
        assert_eq!(q.remove(b), 20);
    }

    #[test]
    fn keys_are_reused_only_after_removal() {
        let mut q = WaitQueue::new();
        let a = q.push_back(1, Waker::noop().clone());
        let b = q.push_back(2, Waker::noop().clone());
        assert_ne!(a, b);
        q.pop_front();
        let c = q.push_back(3, Waker::noop().clone());
        assert_ne!(c, a, "an unlinked entry still owns its key");
        q.remove(a);
        assert_eq!(order(&mut q), vec![2, 3]);
    }
}
