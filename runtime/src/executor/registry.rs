//! [`Registry`]: the tasks alive on a core, one word per task.
//!
//! Rules:
//! 1. A slot holds either a task (the address of its header, which is 8-aligned, so even and
//!    non-zero) or, when vacant, the index of the next vacant slot as `(next << 1) | 1` (odd).
//! 2. An occupied slot owns one counted reference to its task: it was made from a `TaskRef`
//!    with [`TaskRef::into_raw`] and goes back to one with [`TaskRef::from_raw`] exactly once
//!    (on `remove`, `drain` or drop).
//! 3. Keys are `u32`: a core holds at most `u32::MAX - 1` tasks (each costs dozens of bytes,
//!    so memory runs out long before).

use super::task::TaskRef;
use std::ptr::NonNull;

/// No vacant slot: the end of the free list.
const NONE: usize = usize::MAX >> 1;

/// A slab of tasks with one-word slots (a `slab::Slab<TaskRef>` slot takes two).
pub(crate) struct Registry {
    slots: Vec<usize>,
    /// The first vacant slot, or `NONE`.
    free: usize,
    len: usize,
}

impl Registry {
    pub(crate) fn with_capacity(n: usize) -> Registry {
        Registry {
            slots: Vec::with_capacity(n),
            free: NONE,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores the task's reference; returns its key.
    ///
    /// # Panics
    ///
    /// Panics when the core already holds `u32::MAX - 1` tasks (rule 3).
    pub(crate) fn insert(&mut self, task: TaskRef) -> u32 {
        let word = task.into_raw().as_ptr() as usize;
        debug_assert!(word & 1 == 0);
        let key = if self.free != NONE {
            let key = self.free;
            self.free = self.slots[key] >> 1;
            self.slots[key] = word;
            key
        } else {
            self.slots.push(word);
            self.slots.len() - 1
        };
        self.len += 1;
        match u32::try_from(key) {
            Ok(k) if k != u32::MAX => k,
            _ => panic!("ringbolt: more than u32::MAX tasks on one core"),
        }
    }

    /// Takes the task at `key` back, if the slot holds one.
    pub(crate) fn remove(&mut self, key: u32) -> Option<TaskRef> {
        let key = key as usize;
        let word = *self.slots.get(key)?;
        if word & 1 == 1 {
            return None;
        }
        self.slots[key] = (self.free << 1) | 1;
        self.free = key;
        self.len -= 1;
        Some(Self::task(word))
    }

    /// Takes every task out, leaving the registry empty.
    pub(crate) fn drain(&mut self) -> Vec<TaskRef> {
        let tasks = std::mem::take(&mut self.slots)
            .into_iter()
            .filter(|w| w & 1 == 0)
            .map(Self::task)
            .collect();
        self.free = NONE;
        self.len = 0;
        tasks
    }

    /// The reference an occupied slot's word stands for (rule 2).
    fn task(word: usize) -> TaskRef {
        // By rule 1 an occupied word is the non-zero address `insert` stored.
        let ptr = NonNull::new(word as *mut _).expect("an occupied registry slot is non-null");
        // SAFETY: the word came from `TaskRef::into_raw` in `insert`, and the slot was just
        // vacated (or the whole slab taken), so this reference is taken back exactly once.
        unsafe { TaskRef::from_raw(ptr) }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        drop(self.drain());
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
    fn insert_remove_reuse_and_drain() {
        let shared = Arc::new(Shared::new().expect("shared"));
        let mut r = Registry::with_capacity(2);
        let a = r.insert(task(&shared));
        let b = r.insert(task(&shared));
        let c = r.insert(task(&shared));
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(r.len(), 3);
        assert!(r.remove(b).is_some());
        // A vacant or out-of-range slot yields nothing.
        assert!(r.remove(b).is_none());
        assert!(r.remove(7).is_none());
        assert!(r.remove(u32::MAX).is_none());
        // The freed slot is reused first.
        assert_eq!(r.insert(task(&shared)), b);
        assert!(r.remove(a).is_some());
        assert!(r.remove(c).is_some());
        assert_eq!(r.len(), 1);
        assert_eq!(r.insert(task(&shared)), c);
        assert_eq!(r.insert(task(&shared)), a);
        assert_eq!(r.insert(task(&shared)), 3);
        assert_eq!(r.drain().len(), 4);
        assert!(r.is_empty());
        assert_eq!(r.insert(task(&shared)), 0);
        // Dropping the registry drops the task it still holds: only the test's Arc is left.
        drop(r);
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
