//! The ring's submission and completion queues, written and read in place.
//!
//! The `io-uring` crate's queues are snapshots: `submission()` loads the SQ's head and tail,
//! `push` takes a finished 64-byte entry by reference and copies it into the ring, and the
//! snapshot stores the tail when it is dropped; `completion()` hands out each CQE through a
//! `Clone` that is not inlined. On the hot path that is an entry built on the stack, copied
//! once to set its `user_data` and once more into the ring, and a call per CQE (about 40
//! instructions per op in all, measured with callgrind on the echo server).
//!
//! [`Queues`] maps the same ring memory a second time (the kernel lets a process map a ring
//! any number of times; every mapping shows the same pages) and works on it directly: an entry
//! is written once, straight into its SQ slot, with its `user_data` stored in place, and a CQE
//! is read as three fields from its slot.
//!
//! Rules:
//! 1. **One writer of the SQ tail and the CQ head: this thread.** The ring is single-issuer
//!    (driver rule 1); `Queues` lives in the driver next to the `IoUring` and is only used
//!    through `&mut Driver`.
//! 2. **Every push publishes at once.** The tail is stored (release) right after the entry is
//!    written, and every consumed CQE's head is stored (release) before the next is read, so
//!    the `io-uring` crate's own snapshots (`submission().len()`, `completion().is_empty()`,
//!    the submitter's SQ length) always see the same queues, and a panic in the middle of a
//!    reap never hands the same CQE out twice.
//! 3. **The mappings outlive every pointer into them**: they are unmapped when `Queues` is
//!    dropped, and no pointer into them leaves this module.

use std::io;
use std::mem;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};

use io_uring::squeue::Entry;
use io_uring::IoUring;

/// `IORING_OFF_SQ_RING`, `IORING_OFF_CQ_RING`, `IORING_OFF_SQES` (uapi `io_uring.h`).
const OFF_SQ_RING: libc::off_t = 0;
const OFF_CQ_RING: libc::off_t = 0x0800_0000;
const OFF_SQES: libc::off_t = 0x1000_0000;
/// `IORING_FEAT_SINGLE_MMAP`: the SQ and CQ rings are one mapping.
const FEAT_SINGLE_MMAP: u32 = 1 << 0;
/// `IORING_SETUP_SQE128` and `IORING_SETUP_CQE32`: entries of another size (never set here).
const SETUP_SQE128: u32 = 1 << 10;
const SETUP_CQE32: u32 = 1 << 11;
/// Where `user_data` sits in an SQE (uapi `struct io_uring_sqe`).
const SQE_USER_DATA: usize = 32;

/// `struct io_sqring_offsets` (uapi).
#[repr(C)]
#[derive(Clone, Copy)]
struct SqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags: u32,
    dropped: u32,
    array: u32,
    resv1: u32,
    user_addr: u64,
}

/// `struct io_cqring_offsets` (uapi).
#[repr(C)]
#[derive(Clone, Copy)]
struct CqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    overflow: u32,
    cqes: u32,
    flags: u32,
    resv1: u32,
    user_addr: u64,
}

/// `struct io_uring_params` (uapi), the layout `io_uring::Parameters` wraps transparently.
#[repr(C)]
#[derive(Clone, Copy)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: SqOffsets,
    cq_off: CqOffsets,
}

const _: () = assert!(mem::size_of::<Params>() == 120);
const _: () = assert!(mem::size_of::<io_uring::Parameters>() == mem::size_of::<Params>());
const _: () = assert!(mem::size_of::<Entry>() == 64);

/// `struct io_uring_cqe` without the `CQE32` tail (uapi).
#[repr(C)]
struct Cqe {
    user_data: u64,
    res: i32,
    flags: u32,
}

/// One `mmap` of the ring, unmapped on drop.
struct Map {
    base: NonNull<u8>,
    len: usize,
}

impl Map {
    fn new(fd: i32, offset: libc::off_t, len: usize) -> io::Result<Map> {
        // SAFETY: a fresh shared mapping chosen by the kernel (no address hint), of the ring
        // fd's region at `offset`; nothing else is touched.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("mapping the io_uring queues failed: {e}"),
            ));
        }
        let base =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(Map { base, len })
    }

    /// A pointer `off` bytes into the mapping (`off` comes from the kernel's offsets, within
    /// the length the mapping was made with).
    fn at<T>(&self, off: u32) -> *mut T {
        debug_assert!(off as usize + mem::size_of::<T>() <= self.len);
        // SAFETY: in bounds of the mapping, as the offsets the kernel gave are (the length was
        // computed from them as the kernel documents).
        unsafe { self.base.as_ptr().add(off as usize).cast::<T>() }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: this mapping was made by `Map::new` with this length and no pointer into it
        // outlives the `Queues` that owns it (rule 3).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The ring's SQ and CQ, used in place (see the module docs).
pub(crate) struct Queues {
    sq_head: *const AtomicU32,
    sq_tail: *const AtomicU32,
    sq_flags: *const AtomicU32,
    sq_mask: u32,
    sq_entries: u32,
    sqes: *mut Entry,
    cq_head: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cq_mask: u32,
    cqes: *const Cqe,
    /// Keep the pointers above valid (rule 3); dropped after them, never read.
    _maps: [Option<Map>; 3],
}

impl Queues {
    /// Maps `ring`'s queues a second time.
    pub(crate) fn new(ring: &IoUring) -> io::Result<Queues> {
        use std::os::fd::AsRawFd;
        // SAFETY: `Parameters` is `#[repr(transparent)]` over the kernel's `io_uring_params`,
        // which `Params` mirrors field for field (the sizes are checked above).
        let p: Params = unsafe { ptr::read(ptr::from_ref(ring.params()).cast::<Params>()) };
        if p.flags & (SETUP_SQE128 | SETUP_CQE32) != 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "ring set up with 128-byte SQEs or 32-byte CQEs, which the driver does not use",
            ));
        }
        let fd = ring.as_raw_fd();
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * mem::size_of::<u32>();
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * mem::size_of::<Cqe>();
        let sqe_map = Map::new(
            fd,
            OFF_SQES,
            p.sq_entries as usize * mem::size_of::<Entry>(),
        )?;
        let (sq_map, cq_map) = if p.features & FEAT_SINGLE_MMAP != 0 {
            (Map::new(fd, OFF_SQ_RING, sq_len.max(cq_len))?, None)
        } else {
            (
                Map::new(fd, OFF_SQ_RING, sq_len)?,
                Some(Map::new(fd, OFF_CQ_RING, cq_len)?),
            )
        };
        let cq = cq_map.as_ref().unwrap_or(&sq_map);
        let sq_mask_ptr: *const u32 = sq_map.at(p.sq_off.ring_mask);
        let sq_entries_ptr: *const u32 = sq_map.at(p.sq_off.ring_entries);
        let cq_mask_ptr: *const u32 = cq.at(p.cq_off.ring_mask);
        // SAFETY: the kernel wrote these words before `io_uring_setup` returned and never
        // changes them; the pointers are in bounds (see `Map::at`).
        let (sq_mask, sq_entries, cq_mask) = unsafe {
            (
                sq_mask_ptr.read(),
                sq_entries_ptr.read(),
                cq_mask_ptr.read(),
            )
        };
        Ok(Queues {
            sq_head: sq_map.at(p.sq_off.head),
            sq_tail: sq_map.at(p.sq_off.tail),
            sq_flags: sq_map.at(p.sq_off.flags),
            sq_mask,
            sq_entries,
            sqes: sqe_map.base.as_ptr().cast::<Entry>(),
            cq_head: cq.at(p.cq_off.head),
            cq_tail: cq.at(p.cq_off.tail),
            cq_mask,
            cqes: cq.at(p.cq_off.cqes),
            _maps: [Some(sqe_map), Some(sq_map), cq_map],
        })
    }

    /// Writes `entry` with `user_data` into the next SQ slot and publishes it; gives the entry
    /// back when the SQ is full.
    ///
    /// # Safety
    ///
    /// Every pointer in `entry` names memory that stays valid and unmoved until the op's final
    /// CQE (the `OpCode` contract, `op.rs` rules 1-2).
    #[inline(always)]
    pub(crate) unsafe fn push(&mut self, entry: Entry, user_data: u64) -> Result<(), Entry> {
        // The tail's only writer is this thread (rule 1): a relaxed load reads its last store.
        // SAFETY: the head and tail words are in the live mapping (rule 3).
        let (head, tail) = unsafe {
            (
                (*self.sq_head).load(Ordering::Acquire),
                (*self.sq_tail).load(Ordering::Relaxed),
            )
        };
        if tail.wrapping_sub(head) >= self.sq_entries {
            return Err(entry);
        }
        // SAFETY: the slot at `tail & mask` is in the SQE array and the kernel does not read it
        // (it lies outside head..tail) until the tail store below publishes it.
        unsafe {
            let slot = self.sqes.add((tail & self.sq_mask) as usize);
            slot.write(entry);
            slot.cast::<u8>()
                .add(SQE_USER_DATA)
                .cast::<u64>()
                .write(user_data);
            (*self.sq_tail).store(tail.wrapping_add(1), Ordering::Release);
        }
        Ok(())
    }

    /// How many SQEs are queued and not yet consumed by the kernel.
    #[inline]
    pub(crate) fn sq_len(&self) -> u32 {
        // SAFETY: both words are in the live mapping (rule 3).
        unsafe {
            (*self.sq_tail)
                .load(Ordering::Relaxed)
                .wrapping_sub((*self.sq_head).load(Ordering::Acquire))
        }
    }

    /// Hands every CQE posted so far to `f` as `(user_data, res, flags)`, in order, consuming
    /// each before the next is read (rule 2); returns how many there were.
    #[inline(always)]
    pub(crate) fn reap(&self, mut f: impl FnMut(u64, i32, u32)) -> u32 {
        // The head's only writer is this thread (rule 1).
        // SAFETY: the head and tail words are in the live mapping (rule 3).
        let (mut head, tail) = unsafe {
            (
                (*self.cq_head).load(Ordering::Relaxed),
                (*self.cq_tail).load(Ordering::Acquire),
            )
        };
        let n = tail.wrapping_sub(head);
        while head != tail {
            // SAFETY: slots in head..tail hold CQEs the kernel published with its release store
            // of the tail, which the acquire load above saw; the kernel does not reuse a slot
            // until the head moves past it.
            let (ud, res, flags) = unsafe {
                let c = &*self.cqes.add((head & self.cq_mask) as usize);
                (c.user_data, c.res, c.flags)
            };
            head = head.wrapping_add(1);
            // SAFETY: the head word is in the live mapping; storing it gives the slot back.
            unsafe { (*self.cq_head).store(head, Ordering::Release) };
            f(ud, res, flags);
        }
        n
    }

    /// The SQ ring's flags word (`IORING_SQ_CQ_OVERFLOW`, `IORING_SQ_TASKRUN`).
    #[inline]
    pub(crate) fn sq_flags(&self) -> u32 {
        // SAFETY: the word is in the live mapping (rule 3).
        unsafe { (*self.sq_flags).load(Ordering::Acquire) }
    }

    /// Whether a CQE is waiting.
    #[inline]
    pub(crate) fn cq_ready(&self) -> bool {
        // SAFETY: both words are in the live mapping (rule 3).
        unsafe {
            (*self.cq_head).load(Ordering::Relaxed) != (*self.cq_tail).load(Ordering::Acquire)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use io_uring::opcode;

    #[test]
    fn push_and_reap_in_place() {
        let mut ring = IoUring::new(4).unwrap();
        let mut q = Queues::new(&ring).unwrap();
        for i in 0..4u64 {
            // SAFETY: a nop names no memory.
            assert!(unsafe { q.push(opcode::Nop::new().build(), 100 + i) }.is_ok());
        }
        // SAFETY: as above.
        let full = unsafe { q.push(opcode::Nop::new().build(), 9) };
        assert!(full.is_err(), "SQ of 4 is full");
        assert_eq!(q.sq_len(), 4);
        // The crate's own snapshot sees what was pushed (rule 2).
        assert_eq!(ring.submission().len(), 4);
        ring.submit_and_wait(4).unwrap();
        assert_eq!(q.sq_len(), 0);
        assert!(q.cq_ready());
        let mut seen = Vec::new();
        assert_eq!(q.reap(|ud, res, _| seen.push((ud, res))), 4);
        assert_eq!(seen, vec![(100, 0), (101, 0), (102, 0), (103, 0)]);
        assert!(!q.cq_ready());
        assert!(ring.completion().is_empty());
        // Wraps around the rings.
        for round in 0..3u64 {
            for i in 0..3u64 {
                // SAFETY: as above.
                assert!(unsafe { q.push(opcode::Nop::new().build(), round * 10 + i) }.is_ok());
            }
            ring.submit_and_wait(3).unwrap();
            let mut uds = Vec::new();
            q.reap(|ud, _, _| uds.push(ud));
            assert_eq!(uds, vec![round * 10, round * 10 + 1, round * 10 + 2]);
        }
    }
}
