//! The driver's table of in-flight ops: a slab whose keys carry a generation.
//!
//! Rules:
//! 1. A key is `generation << 32 | index`. Every insert takes a new generation, so a key names
//!    one insertion only: a stale key (a late CQE, an op of an older insertion at the same
//!    index) never reaches the value that reuses its index.
//! 2. Every index is below `MAX_INDEX`, so every key is below the driver's reserved
//!    `user_data` tags, whatever the generation.
//! 3. Vacant entries form a free list through `next_free`, so an insert is a pop and a remove
//!    a push: no search, no move of the other entries.
//!
//! Hand-written rather than `slab::Slab` because the driver touches it twice per op on the
//! hot path: one entry layout (generation, free link and value side by side) and one
//! generation check per lookup, with no enum of its own around the value.

use super::Key;

/// No next free entry.
const NONE: u32 = u32::MAX;
/// Indices stay below this (rule 2): with the highest generation, a key is then still below
/// `u64::MAX - 4`. A table that large would hold four billion ops in flight.
const MAX_INDEX: usize = u32::MAX as usize - 4;

struct Entry<T> {
    generation: u32,
    /// The next vacant entry while this one is vacant (rule 3).
    next_free: u32,
    value: Option<T>,
}

/// Values under generation-checked keys.
pub(super) struct Slots<T> {
    entries: Vec<Entry<T>>,
    /// Head of the free list, `NONE` when every entry is occupied.
    free: u32,
    generation: u32,
}

impl<T> Slots<T> {
    pub(super) fn with_capacity(n: usize) -> Self {
        Slots {
            entries: Vec::with_capacity(n),
            free: NONE,
            generation: 0,
        }
    }

    /// Stores `value` under a new key.
    #[inline]
    pub(super) fn insert(&mut self, value: T) -> Key {
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let index = match self.entries.get_mut(self.free as usize) {
            Some(e) => {
                let index = self.free;
                self.free = e.next_free;
                e.generation = generation;
                // A free entry holds `None`: forgetting it skips the drop glue, leaks nothing.
                std::mem::forget(e.value.replace(value));
                index
            }
            None => self.push(value, generation),
        };
        (u64::from(generation) << 32) | u64::from(index)
    }

    #[cold]
    #[inline(never)]
    fn push(&mut self, value: T, generation: u32) -> u32 {
        let index = self.entries.len();
        assert!(
            index < MAX_INDEX,
            "ringbolt: more than {MAX_INDEX} ops in flight on one ring"
        );
        self.entries.push(Entry {
            generation,
            next_free: NONE,
            value: Some(value),
        });
        index as u32
    }

    /// The value under `key`, if `key` is the current insertion at its index.
    #[inline]
    pub(super) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.entries.get_mut(key as u32 as usize) {
            Some(e) if e.generation == (key >> 32) as u32 => e.value.as_mut(),
            _ => None,
        }
    }

    /// Takes the value under `key` out, freeing its entry.
    #[inline]
    pub(super) fn remove(&mut self, key: Key) -> Option<T> {
        let index = key as u32;
        let e = self.entries.get_mut(index as usize)?;
        if e.generation != (key >> 32) as u32 {
            return None;
        }
        let value = e.value.take()?;
        e.next_free = self.free;
        self.free = index;
        Some(value)
    }

    /// Every stored value with its key.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.entries.iter().enumerate().filter_map(|(i, e)| {
            let key = (u64::from(e.generation) << 32) | i as u64;
            e.value.as_ref().map(|v| (key, v))
        })
    }

    /// Takes every value out, leaving the table empty.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.free = NONE;
        self.entries.drain(..).filter_map(|e| e.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_generations_and_indices_are_reused() {
        let mut s = Slots::with_capacity(2);
        let a = s.insert("a");
        let b = s.insert("b");
        assert_ne!(a as u32, b as u32);
        assert_eq!(s.iter().count(), 2);
        assert_eq!(s.remove(a), Some("a"));
        // A stale key finds nothing, twice.
        assert_eq!(s.remove(a), None);
        assert!(s.get_mut(a).is_none());
        let c = s.insert("c");
        // Same index, new generation: the old key still finds nothing.
        assert_eq!(c as u32, a as u32);
        assert_ne!(c, a);
        assert!(s.get_mut(a).is_none());
        assert_eq!(s.get_mut(c).copied(), Some("c"));
        let mut all: Vec<_> = s.iter().map(|(k, v)| (k, *v)).collect();
        all.sort();
        let mut want = vec![(b, "b"), (c, "c")];
        want.sort();
        assert_eq!(all, want);
        let drained: Vec<_> = s.drain().collect();
        assert_eq!(drained.len(), 2);
        assert_eq!(s.iter().count(), 0);
        assert!(s.get_mut(b).is_none());
        // Usable again after a drain.
        let d = s.insert("d");
        assert_eq!(s.remove(d), Some("d"));
    }

    #[test]
    fn free_list_is_last_in_first_out() {
        let mut s = Slots::with_capacity(0);
        let keys: Vec<Key> = (0..8).map(|i| s.insert(i)).collect();
        assert_eq!(s.remove(keys[2]), Some(2));
        assert_eq!(s.remove(keys[5]), Some(5));
        assert_eq!(s.insert(50) as u32, keys[5] as u32);
        assert_eq!(s.insert(20) as u32, keys[2] as u32);
        assert_eq!(s.insert(8) as u32, 8);
        assert_eq!(s.iter().count(), 9);
    }
}
