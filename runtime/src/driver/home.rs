//! A core's driver as its owner holds it ([`DriverCell`]), and the weak handle
//! ([`DriverHandle`]) by which resources registered with that driver's ring (fixed buffers,
//! provided-buffer rings, direct descriptors) reach it again later.
//!
//! Rules:
//! 1. The runtime owns each core's driver through one `Rc<DriverCell>`, and nothing else
//!    keeps a strong reference beyond a synchronous call: the cell (and the ring) goes when
//!    the core goes.
//! 2. A [`DriverHandle`] is a `Weak` of that cell: `!Send`, so it is only ever used on the
//!    driver's own thread, and its upgrade fails once the driver is gone, so a job for a
//!    closed ring never runs (the ring took its registrations with it) and never reaches
//!    another driver.
//! 3. The handle names its driver for identity checks: while it exists the cell's allocation
//!    is kept (weak count), so no other driver can appear at the same address.
//! 4. A job for a busy driver (borrowed further up the stack, e.g. a registration dropped
//!    while reaping) waits in the cell and runs at that driver's next turn or shutdown
//!    ([`DriverCell::run_deferred`]); a job for a free driver runs at once.

use super::Driver;
use std::cell::{Ref, RefCell, RefMut};
use std::rc::{Rc, Weak};

/// Work to run with one driver; see [`DriverHandle::run`].
pub(crate) type DriverJob = Box<dyn FnOnce(&mut Driver)>;

/// A driver and the work that waits for it to be free.
pub(crate) struct DriverCell {
    driver: RefCell<Driver>,
    /// Jobs requested while the driver was borrowed (rule 4).
    deferred: RefCell<Vec<DriverJob>>,
}

impl DriverCell {
    /// A cell owning `driver`, for its core to hold (rule 1).
    pub(crate) fn new(driver: Driver) -> Rc<DriverCell> {
        Rc::new(DriverCell {
            driver: RefCell::new(driver),
            deferred: RefCell::new(Vec::new()),
        })
    }

    /// The driver itself.
    #[inline]
    pub(crate) fn cell(&self) -> &RefCell<Driver> {
        &self.driver
    }

    /// Borrows the driver; see [`RefCell::borrow`].
    #[inline]
    #[track_caller]
    pub(crate) fn borrow(&self) -> Ref<'_, Driver> {
        self.driver.borrow()
    }

    /// Borrows the driver mutably; see [`RefCell::borrow_mut`].
    #[inline]
    #[track_caller]
    pub(crate) fn borrow_mut(&self) -> RefMut<'_, Driver> {
        self.driver.borrow_mut()
    }

    /// Runs the jobs that waited for the driver (rule 4). The owner calls it once per turn,
    /// with the driver free, and at shutdown; a job that queues another is run next time.
    #[inline]
    pub(crate) fn run_deferred(&self) {
        if !self.deferred.borrow().is_empty() {
            self.run_deferred_slow();
        }
    }

    #[inline(never)]
    fn run_deferred_slow(&self) {
        let work = std::mem::take(&mut *self.deferred.borrow_mut());
        let mut d = self.driver.borrow_mut();
        for f in work {
            f(&mut d);
        }
    }
}

/// A weak handle to one core's driver, kept by what is registered with its ring.
///
/// `!Send` (rule 2); made by [`current::handle`](super::current::handle).
#[derive(Clone, Default)]
pub(crate) struct DriverHandle(Weak<DriverCell>);

impl DriverHandle {
    pub(super) fn new(cell: &Rc<DriverCell>) -> DriverHandle {
        DriverHandle(Rc::downgrade(cell))
    }

    /// Whether this handle names the driver at `cell` (rule 3). A default handle names none.
    #[inline]
    pub(super) fn names(&self, cell: *const DriverCell) -> bool {
        !cell.is_null() && std::ptr::eq(self.0.as_ptr(), cell)
    }

    /// Runs `job` with this handle's driver if that driver is still alive: now if it is free,
    /// else at its next turn (rule 4). Nothing happens once it is gone (rule 2).
    pub(crate) fn run(&self, job: DriverJob) {
        if let Some(cell) = self.0.upgrade() {
            match cell.driver.try_borrow_mut() {
                Ok(mut d) => job(&mut d),
                Err(_) => cell.deferred.borrow_mut().push(job),
            }
        }
    }
}
