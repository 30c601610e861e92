//! [`Site`]: what the tasks spawned at one place on one core share, so that each task holds it
//! in one word.
//!
//! Rules:
//! 1. A site is immutable: its core's remote-wake queue and a spawn location. Other threads
//!    read it through a task's header (a remote wake), so it is reference-counted (`Arc`) and
//!    outlives every task that names it, even past its runtime's end.
//! 2. A core keeps one site per spawn location in [`Sites`] (owner thread only), so the count
//!    of sites is bounded by the number of `spawn` call sites in the program.

use super::remote::Shared;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::Arc;

/// A core's remote-wake queue and a spawn location (rule 1).
pub(crate) struct Site {
    pub(crate) shared: Arc<Shared>,
    /// Where the tasks were spawned (`#[track_caller]`), for stall reports and tracing.
    pub(crate) location: &'static Location<'static>,
}

impl Site {
    pub(crate) fn new(shared: Arc<Shared>, location: &'static Location<'static>) -> Arc<Site> {
        Arc::new(Site { shared, location })
    }
}

/// A core's sites by location (rule 2), with the last one used in front: spawns in a loop
/// cost one comparison.
pub(crate) struct Sites {
    /// The site used last, or null: always one that `by_location` holds (a strong count).
    last: Cell<*const Site>,
    by_location: RefCell<HashMap<usize, Arc<Site>, BuildHasherDefault<AddrHasher>>>,
}

impl Sites {
    pub(crate) fn new() -> Sites {
        Sites {
            last: Cell::new(std::ptr::null()),
            by_location: RefCell::new(HashMap::default()),
        }
    }

    /// The site of `location` on the core whose queue is `shared`.
    #[inline]
    pub(crate) fn get(
        &self,
        shared: &Arc<Shared>,
        location: &'static Location<'static>,
    ) -> Arc<Site> {
        let last = self.last.get();
        // SAFETY: a non-null `last` is an `Arc<Site>` that `by_location` holds, and entries are
        // never removed while `self` lives.
        if !last.is_null() && std::ptr::eq(unsafe { (*last).location }, location) {
            // SAFETY: as above: the pointer came from `Arc::as_ptr` and its count is at least
            // one (the map's), so it may be incremented.
            unsafe { Arc::increment_strong_count(last) };
            // SAFETY: takes over the count just added.
            return unsafe { Arc::from_raw(last) };
        }
        self.get_slow(shared, location)
    }

    #[inline(never)]
    fn get_slow(&self, shared: &Arc<Shared>, location: &'static Location<'static>) -> Arc<Site> {
        let key = location as *const Location<'static> as usize;
        let site = self
            .by_location
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| Site::new(shared.clone(), location))
            .clone();
        debug_assert!(Arc::ptr_eq(&site.shared, shared));
        self.last.set(Arc::as_ptr(&site));
        site
    }
}

/// Hashes an address: a multiply, folded so that the low bits (what the table indexes with)
/// depend on all of them.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        let h = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_site_per_location() {
        let shared = Arc::new(Shared::new().expect("shared"));
        let sites = Sites::new();
        let (a, b) = (Location::caller(), Location::caller());
        let here = || Location::caller();
        let c = here();
        let sa = sites.get(&shared, a);
        let sc = sites.get(&shared, c);
        assert!(Arc::ptr_eq(&sa, &sites.get(&shared, a)));
        assert!(Arc::ptr_eq(&sc, &sites.get(&shared, c)));
        assert!(std::ptr::eq(sa.location, a));
        assert!(std::ptr::eq(sites.get(&shared, b).location, b));
        drop(sites);
        drop((sa, sc));
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
