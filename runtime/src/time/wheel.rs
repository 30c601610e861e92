//! A per-core hierarchical timer wheel with 1 ms ticks.
//!
//! Rules the code keeps:
//! 1. `elapsed` is the last tick processed: every entry with `when <= elapsed` has fired, except
//!    those inserted afterwards, which wait in the `due` list and fire on the next `advance`.
//! 2. An entry with `when > elapsed` lives in exactly one slot: level `L` is the highest 6-bit
//!    group in which `when` and `elapsed` differ (clamped to the top level), and the slot is that
//!    group of `when`. Level `L` slots span `64^L` ticks, so the six levels cover `2^36` ms.
//! 3. Below the top level, an occupied slot always starts after `elapsed`. The top level is a ring:
//!    an entry more than `2^36` ticks away goes into the slot of its bits 30..36, is cascaded when
//!    that slot comes round, and lands back in the top level until it is within range. An
//!    `advance` of a whole rotation or more skips the stepping and re-places every entry.
//! 4. `next_expiration` returns the start of the earliest occupied slot, which is never later than
//!    the `when` of any entry in it; `advance` processes slots in that order, firing entries that
//!    are due and re-placing the others relative to the slot's start, so firing order is
//!    nondecreasing in `when` and, within one tick, first in first out.
//! 5. Entries live in a `Slab`; each slot is an intrusive doubly linked list threaded through slab
//!    indices, so insert and remove are O(1) and removal frees the entry (and drops its waker).
//! 6. A `TimerKey` holds the slab index and a generation unique within the wheel; a key whose
//!    entry fired or was removed never matches a later entry that reuses the index.

use std::task::Waker;

use slab::Slab;

/// log2 of the number of slots per level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels.
const LEVELS: usize = 6;
/// Ticks spanned by the whole wheel: `64^6 = 2^36` ms, about 2.2 years.
const WHEEL_RANGE: u64 = 1 << (SLOT_BITS as usize * LEVELS);
/// Latest tick the wheel handles; later deadlines are clamped to it (about 146 million years).
pub(crate) const MAX_TICK: u64 = 1 << 62;
/// Null link in the intrusive lists.
const NIL: usize = usize::MAX;

/// Names one timer inside a [`Wheel`]: slab index plus generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: usize,
    generation: u64,
}

/// Which list an entry is linked into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// A wheel slot.
    Slot { level: usize, slot: usize },
    /// Inserted with `when <= elapsed`: fires on the next `advance`.
    Due,
}

/// One pending timer.
struct Entry {
    when: u64,
    generation: u64,
    waker: Waker,
    place: Place,
    prev: usize,
    next: usize,
}

/// Head and tail of an intrusive list.
#[derive(Clone, Copy)]
struct List {
    head: usize,
    tail: usize,
}

impl List {
    const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };
}

/// One level: 64 slot lists and a bitmap of the non-empty ones.
struct Level {
    occupied: u64,
    slots: [List; SLOTS],
}

/// Hierarchical timer wheel; see the module docs for its invariants.
pub(crate) struct Wheel {
    entries: Slab<Entry>,
    levels: [Level; LEVELS],
    due: List,
    /// Lower bound on the `when` of entries in `due`; `u64::MAX` when `due` is empty.
    due_min: u64,
    /// Last tick processed.
    elapsed: u64,
    /// Last generation handed out.
    generation: u64,
}

impl Wheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        Wheel {
            entries: Slab::new(),
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                slots: [List::EMPTY; SLOTS],
            }),
            due: List::EMPTY,
            due_min: u64::MAX,
            elapsed: 0,
            generation: 0,
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Registers `waker` to be fired by the first `advance(now)` with `now >= when`.
    ///
    /// A `when` at or before the last processed tick fires on the next `advance`; one past
    /// [`MAX_TICK`] is clamped to it.
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> TimerKey {
        let when = when.min(MAX_TICK);
        self.generation += 1;
        let generation = self.generation;
        let place = self.place_for(when);
        let index = self.entries.insert(Entry {
            when,
            generation,
            waker,
            place,
            prev: NIL,
            next: NIL,
        });
        self.link(index, place);
        TimerKey { index, generation }
    }

    /// Replaces the waker of a pending timer, skipping the clone if `waker` would wake the same
    /// task. Returns `false` if the timer already fired or was removed.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.entries.get_mut(key.index) {
            Some(entry) if entry.generation == key.generation => {
                if !entry.waker.will_wake(waker) {
                    entry.waker.clone_from(waker);
                }
                true
            }
            _ => false,
        }
    }

    /// Moves a pending timer to a new deadline, keeping its key and waker. O(1).
    /// Returns `false` if the timer already fired or was removed.
    pub(crate) fn reschedule(&mut self, key: TimerKey, when: u64) -> bool {
        if !self.is_pending(key) {
            return false;
        }
        let when = when.min(MAX_TICK);
        self.unlink(key.index);
        self.entries[key.index].when = when;
        let place = self.place_for(when);
        self.link(key.index, place);
        true
    }

    /// Cancels a timer and frees its entry. O(1). Returns `true` if it was pending.
    ///
    /// Runtime code uses [`take`](Self::take) instead, to drop the waker outside its borrow of the
    /// timers.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: TimerKey) -> bool {
        self.take(key).is_some()
    }

    /// Cancels a timer, frees its entry and hands its waker back (so the caller can drop it
    /// outside any borrow of the wheel). O(1). Returns `None` if it was not pending.
    pub(crate) fn take(&mut self, key: TimerKey) -> Option<Waker> {
        if !self.is_pending(key) {
            return None;
        }
        self.unlink(key.index);
        Some(self.entries.remove(key.index).waker)
    }

    /// A tick no later than the earliest pending `when`, or `None` if nothing is pending.
    ///
    /// It may be earlier (a slot holding later timers must be cascaded at its start); calling
    /// `advance` at the returned tick is always useful.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if self.due.head != NIL {
            return Some(self.due_min);
        }
        self.next_slot().map(|(_, _, deadline)| deadline)
    }

    /// Fires every entry with `when <= now` into `fired`, in nondecreasing `when` order, and frees
    /// their entries.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) {
        let now = now.min(MAX_TICK);
        self.fire_due(now, fired);
        if now.saturating_sub(self.elapsed) >= WHEEL_RANGE {
            self.rebuild(now, fired);
            return;
        }
        while let Some((level, slot, deadline)) = self.next_slot() {
            if deadline > now {
                break;
            }
            self.elapsed = deadline;
            self.process_slot(level, slot, fired);
        }
        self.elapsed = self.elapsed.max(now);
    }

    fn is_pending(&self, key: TimerKey) -> bool {
        matches!(self.entries.get(key.index), Some(e) if e.generation == key.generation)
    }

    /// Where an entry with this `when` belongs relative to `elapsed` (rule 2).
    fn place_for(&self, when: u64) -> Place {
        if when <= self.elapsed {
            return Place::Due;
        }
        let masked = ((self.elapsed ^ when) | (SLOTS as u64 - 1)).min(WHEEL_RANGE - 1);
        let level = ((63 - masked.leading_zeros()) / SLOT_BITS) as usize;
        let slot = (when >> (level as u32 * SLOT_BITS)) as usize & (SLOTS - 1);
        Place::Slot { level, slot }
    }

    /// Earliest occupied slot over all levels as `(level, slot, start tick)`; on a tie the lowest
    /// level wins.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        let mut best: Option<(usize, usize, u64)> = None;
        for level in 0..LEVELS {
            if let Some((slot, deadline)) = self.level_next_slot(level) {
                if best.is_none_or(|(_, _, d)| deadline < d) {
                    best = Some((level, slot, deadline));
                }
            }
        }
        best
    }

    /// First occupied slot of `level` after the current position, and its start tick.
    fn level_next_slot(&self, level: usize) -> Option<(usize, u64)> {
        let occupied = self.levels[level].occupied;
        if occupied == 0 {
            return None;
        }
        let shift = level as u32 * SLOT_BITS;
        let slot_range = 1u64 << shift;
        let level_range = slot_range << SLOT_BITS;
        // The slot holding `elapsed` comes last: below the top level it is always empty, and in
        // the top level it only holds entries for a later rotation (rule 3).
        let start = ((self.elapsed >> shift) as u32 + 1) % SLOTS as u32;
        let slot = (occupied.rotate_right(start).trailing_zeros() + start) as usize % SLOTS;
        let level_start = self.elapsed & !(level_range - 1);
        let mut deadline = level_start + slot as u64 * slot_range;
        if deadline <= self.elapsed {
            // Only the top level wraps (rule 3): its slot lies in the next rotation.
            debug_assert_eq!(
                level,
                LEVELS - 1,
                "a lower-level slot fell behind `elapsed`"
            );
            deadline += level_range;
        }
        Some((slot, deadline))
    }

    /// Fires the `due` entries with `when <= now`, sorted by `when` then insertion order.
    fn fire_due(&mut self, now: u64, fired: &mut Vec<Waker>) {
        if self.due.head == NIL || self.due_min > now {
            return;
        }
        let mut ready: Vec<(u64, u64, usize)> = Vec::new();
        let mut index = self.due.head;
        while index != NIL {
            let entry = &self.entries[index];
            if entry.when <= now {
                ready.push((entry.when, entry.generation, index));
            }
            index = entry.next;
        }
        ready.sort_unstable();
        for (_, _, index) in ready {
            self.unlink(index);
            fired.push(self.entries.remove(index).waker);
        }
        if self.due.head != NIL {
            // Only reachable when `now` went backwards; recompute the exact bound.
            self.due_min = u64::MAX;
            let mut index = self.due.head;
            while index != NIL {
                self.due_min = self.due_min.min(self.entries[index].when);
                index = self.entries[index].next;
            }
        }
    }

    /// Jumps straight to `now` when it is a whole wheel rotation or more ahead, where stepping
    /// would re-cascade far-future entries once per rotation: fires what is due in order and
    /// re-places the rest. O(n log n), and only reachable by a jump of over two years.
    fn rebuild(&mut self, now: u64, fired: &mut Vec<Waker>) {
        for level in &mut self.levels {
            level.occupied = 0;
            level.slots = [List::EMPTY; SLOTS];
        }
        let mut all: Vec<(u64, u64, usize)> = self
            .entries
            .iter()
            .map(|(index, e)| (e.when, e.generation, index))
            .collect();
        all.sort_unstable();
        self.elapsed = now;
        for (when, _, index) in all {
            if when <= now {
                fired.push(self.entries.remove(index).waker);
            } else {
                let place = self.place_for(when);
                self.link(index, place);
            }
        }
    }

    /// Empties one slot at `elapsed == its start`: due entries fire, the rest move down.
    fn process_slot(&mut self, level: usize, slot: usize, fired: &mut Vec<Waker>) {
        let list = &mut self.levels[level].slots[slot];
        let mut index = list.head;
        *list = List::EMPTY;
        self.levels[level].occupied &= !(1u64 << slot);
        while index != NIL {
            let next = self.entries[index].next;
            let when = self.entries[index].when;
            if when <= self.elapsed {
                fired.push(self.entries.remove(index).waker);
            } else {
                let place = self.place_for(when);
                debug_assert!(place != Place::Slot { level, slot } || level == LEVELS - 1);
                self.link(index, place);
            }
            index = next;
        }
    }

    /// Appends entry `index` to the tail of the list for `place`.
    fn link(&mut self, index: usize, place: Place) {
        let list = match place {
            Place::Slot { level, slot } => {
                self.levels[level].occupied |= 1u64 << slot;
                &mut self.levels[level].slots[slot]
            }
            Place::Due => {
                self.due_min = self.due_min.min(self.entries[index].when);
                &mut self.due
            }
        };
        let tail = list.tail;
        list.tail = index;
        if tail == NIL {
            list.head = index;
        } else {
            self.entries[tail].next = index;
        }
        let entry = &mut self.entries[index];
        entry.place = place;
        entry.prev = tail;
        entry.next = NIL;
    }

    /// Removes entry `index` from its list, leaving the slab entry in place.
    fn unlink(&mut self, index: usize) {
        let Entry {
            place, prev, next, ..
        } = self.entries[index];
        if prev != NIL {
            self.entries[prev].next = next;
        }
        if next != NIL {
            self.entries[next].prev = prev;
        }
        let list = match place {
            Place::Slot { level, slot } => &mut self.levels[level].slots[slot],
            Place::Due => &mut self.due,
        };
        if prev == NIL {
            list.head = next;
        }
        if next == NIL {
            list.tail = prev;
        }
        if list.head == NIL {
            match place {
                Place::Slot { level, slot } => self.levels[level].occupied &= !(1u64 << slot),
                Place::Due => self.due_min = u64::MAX,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// A waker that appends its id to a shared log when woken.
    struct Probe {
        id: u64,
        log: Arc<Mutex<Vec<u64>>>,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.log.lock().expect("log poisoned").push(self.id);
        }
    }

    struct Harness {
        wheel: Wheel,
        log: Arc<Mutex<Vec<u64>>>,
    }

    impl Harness {
        fn new() -> Self {
            Harness {
                wheel: Wheel::new(),
                log: Arc::new(Mutex::new(Vec::new())),
            }
        }

        fn waker(&self, id: u64) -> Waker {
            Waker::from(Arc::new(Probe {
                id,
                log: self.log.clone(),
            }))
        }

        fn insert(&mut self, when: u64, id: u64) -> TimerKey {
            let waker = self.waker(id);
            self.wheel.insert(when, waker)
        }

        /// Advances and returns the ids fired, in firing order.
        fn advance(&mut self, now: u64) -> Vec<u64> {
            let mut fired = Vec::new();
            self.wheel.advance(now, &mut fired);
            fired.into_iter().for_each(Waker::wake);
            std::mem::take(&mut *self.log.lock().expect("log poisoned"))
        }
    }

    /// xorshift64*: deterministic, no dependencies.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn fires_in_deadline_order_and_fifo_within_a_tick() {
        let mut h = Harness::new();
        let whens = [700u64, 3, 64, 4096, 3, 65, 1, 262_144, 63, 700];
        for (id, &when) in whens.iter().enumerate() {
            h.insert(when, id as u64);
        }
        assert_eq!(h.wheel.len(), whens.len());
        let fired = h.advance(1_000_000);
        assert_eq!(fired, vec![6, 1, 4, 8, 2, 5, 0, 9, 3, 7]);
        assert_eq!(h.wheel.len(), 0);
        assert_eq!(h.wheel.next_expiration(), None);
    }

    #[test]
    fn never_fires_before_when_tick_by_tick() {
        let mut h = Harness::new();
        let whens: Vec<u64> = (0..300).map(|i| (i * 37) % 5000).collect();
        for (id, &when) in whens.iter().enumerate() {
            h.insert(when, id as u64);
        }
        for now in 0..5000 {
            for id in h.advance(now) {
                assert_eq!(whens[id as usize], now, "timer {id} fired at tick {now}");
            }
        }
        assert_eq!(h.wheel.len(), 0);
    }

    #[test]
    fn due_entries_fire_on_next_advance_in_order() {
        let mut h = Harness::new();
        assert!(h.advance(100).is_empty());
        h.insert(50, 0);
        h.insert(20, 1);
        h.insert(100, 2);
        h.insert(101, 3);
        assert!(h.wheel.next_expiration().is_some_and(|t| t <= 20));
        assert_eq!(h.advance(100), vec![1, 0, 2]);
        assert_eq!(h.wheel.next_expiration(), Some(101));
        assert_eq!(h.advance(101), vec![3]);
    }

    #[test]
    fn far_future_timer_cascades_and_fires_exactly_once_on_time() {
        let mut h = Harness::new();
        let when = 3 * WHEEL_RANGE + 12_345;
        h.insert(when, 7);
        h.insert(WHEEL_RANGE - 1, 8);
        let mut steps = 0;
        let mut fired = Vec::new();
        while let Some(next) = h.wheel.next_expiration() {
            assert!(
                next > h.wheel.elapsed,
                "expiration {next} does not move forward"
            );
            steps += 1;
            assert!(steps < 2_000, "too many wakeups to reach a far timer");
            for id in h.advance(next) {
                fired.push((id, next));
            }
        }
        assert_eq!(fired, vec![(8, WHEEL_RANGE - 1), (7, when)]);
        assert_eq!(h.wheel.len(), 0);
    }

    #[test]
    fn a_large_jump_fires_everything_due() {
        let mut h = Harness::new();
        h.insert(u64::MAX, 0);
        h.insert(5 * WHEEL_RANGE, 1);
        h.insert(17, 2);
        assert_eq!(h.advance(6 * WHEEL_RANGE), vec![2, 1]);
        assert_eq!(h.wheel.len(), 1);
        assert!(h.wheel.next_expiration().is_some_and(|t| t <= MAX_TICK));
        assert_eq!(h.advance(u64::MAX), vec![0]);
    }

    #[test]
    fn removal_frees_entries_and_stale_keys_are_inert() {
        let mut h = Harness::new();
        let keys: Vec<TimerKey> = (0..10_000u64)
            .map(|i| h.insert(i * 13 % 70_000, i))
            .collect();
        assert_eq!(h.wheel.len(), 10_000);
        for &key in keys.iter().rev().step_by(2).chain(keys.iter().step_by(2)) {
            assert!(h.wheel.remove(key));
        }
        assert_eq!(h.wheel.len(), 0);
        assert_eq!(h.wheel.next_expiration(), None);
        assert!(h.wheel.levels.iter().all(|l| l.occupied == 0));

        // The slab reuses an index of the old keys; no stale key may reach the new entry.
        let fresh = h.insert(5, 42);
        assert!(keys.iter().any(|k| k.index == fresh.index));
        for &stale in &keys {
            assert!(!h.wheel.remove(stale));
            assert!(!h.wheel.set_waker(stale, &h.waker(99)));
            assert!(!h.wheel.reschedule(stale, 1));
        }
        assert_eq!(h.wheel.len(), 1);
        assert_eq!(h.advance(5), vec![42]);
        assert!(!h.wheel.remove(fresh), "a fired key is no longer pending");
    }

    #[test]
    fn set_waker_and_reschedule_keep_the_key() {
        let mut h = Harness::new();
        let key = h.insert(10, 1);
        let replacement = h.waker(2);
        assert!(h.wheel.set_waker(key, &replacement));
        assert!(h.wheel.reschedule(key, 3000));
        assert!(h.advance(2999).is_empty());
        assert_eq!(h.advance(3000), vec![2]);
        assert!(!h.wheel.set_waker(key, &replacement));
    }

    /// Random operations against a `BTreeMap` model.
    #[test]
    fn matches_a_btreemap_model() {
        for seed in 1..=24u64 {
            run_model(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 3_000);
        }
    }

    fn run_model(seed: u64, ops: usize) {
        let mut rng = Rng(seed);
        let mut h = Harness::new();
        let mut model: BTreeMap<(u64, u64), TimerKey> = BTreeMap::new();
        let mut whens: HashMap<u64, u64> = HashMap::new();
        let mut stale: Vec<TimerKey> = Vec::new();
        let mut now = 0u64;
        let mut next_id = 0u64;
        for _ in 0..ops {
            match rng.below(10) {
                0..=3 => {
                    let when = match rng.below(5) {
                        0 => now.saturating_sub(rng.below(10)),
                        1 => now + rng.below(64),
                        2 => now + rng.below(100_000),
                        3 => now + rng.below(3 * WHEEL_RANGE),
                        _ => now + rng.below(5) * 4096,
                    };
                    let key = h.insert(when, next_id);
                    model.insert((when, next_id), key);
                    whens.insert(next_id, when);
                    next_id += 1;
                }
                4 | 5 if !model.is_empty() => {
                    let pick = rng.below(model.len() as u64) as usize;
                    let (&(when, id), &key) = model.iter().nth(pick).expect("in range");
                    assert!(h.wheel.remove(key), "seed {seed}: live key not pending");
                    model.remove(&(when, id));
                    stale.push(key);
                }
                6 if !stale.is_empty() => {
                    let key = stale[rng.below(stale.len() as u64) as usize];
                    assert!(!h.wheel.remove(key));
                    assert!(!h.wheel.set_waker(key, &h.waker(u64::MAX)));
                }
                7 if !model.is_empty() => {
                    let pick = rng.below(model.len() as u64) as usize;
                    let (&(when, id), &key) = model.iter().nth(pick).expect("in range");
                    let new_when = now + rng.below(10_000);
                    assert!(h.wheel.reschedule(key, new_when));
                    model.remove(&(when, id));
                    model.insert((new_when, id), key);
                    whens.insert(id, new_when);
                }
                _ => {
                    now = match rng.below(5) {
                        0 => now,
                        1 => now + rng.below(10),
                        2 => now + rng.below(5_000),
                        3 => h.wheel.next_expiration().unwrap_or(now).max(now),
                        _ => now + rng.below(2 * WHEEL_RANGE),
                    };
                    let fired = h.advance(now);
                    let mut expected: Vec<u64> = Vec::new();
                    while let Some(entry) = model.first_entry() {
                        if entry.key().0 > now {
                            break;
                        }
                        let ((_, id), key) = entry.remove_entry();
                        expected.push(id);
                        stale.push(key);
                    }
                    let fired_whens: Vec<u64> = fired.iter().map(|id| whens[id]).collect();
                    assert!(
                        fired_whens.windows(2).all(|w| w[0] <= w[1]),
                        "seed {seed}: out of order {fired_whens:?}"
                    );
                    let mut sorted = fired.clone();
                    sorted.sort_unstable();
                    expected.sort_unstable();
                    assert_eq!(sorted, expected, "seed {seed}: wrong set fired at {now}");
                }
            }
            assert_eq!(h.wheel.len(), model.len(), "seed {seed}: len");
            match model.keys().next() {
                Some(&(earliest, _)) => {
                    let next = h.wheel.next_expiration();
                    assert!(
                        next.is_some_and(|t| t <= earliest),
                        "seed {seed}: next_expiration {next:?} after earliest {earliest}"
                    );
                }
                None => assert_eq!(h.wheel.next_expiration(), None),
            }
        }
        let fired = h.advance(u64::MAX);
        assert_eq!(fired.len(), model.len());
        assert_eq!(h.wheel.len(), 0);
    }
}
