//! Raw io_uring file loop: one thread, QD operations in flight, the reference.
//!
//! Invariant: each slot's buffer lives in `bufs` for the whole loop, and the loop returns `Ok`
//! only when no operation is in flight, so no SQE outlives its buffer. On an error return with
//! operations still in flight the buffers are leaked rather than freed (the process exits next).

use std::io;
use std::os::fd::AsRawFd;
use std::time::Instant;

use io_uring::{opcode, squeue, types, IoUring};

use super::dataset::AlignedBuf;
use super::measure::{buffer, check, open, Offsets, Recorder, Window};
use super::spec::{FileSpec, Op};

/// Set in `user_data` of an fdatasync (the low bits name the slot that issued it).
const SYNC: u64 = 1 << 63;

/// Queues one SQE. The ring has more entries than QD and at most QD ops are in flight, so the
/// queue has room.
///
/// # Safety
/// Every pointer in `e` must stay valid until its CQE is reaped.
unsafe fn push(ring: &mut IoUring, e: &squeue::Entry) -> io::Result<()> {
    // SAFETY: the caller keeps the memory `e` names alive until its CQE (this fn's contract).
    unsafe { ring.submission().push(e) }.map_err(|_| io::Error::other("submission queue full"))
}

/// Runs the loop until the window closes and every op has completed.
///
/// # Errors
/// Ring setup, I/O or verification errors.
pub fn run(spec: &FileSpec, window: &Window) -> io::Result<Recorder> {
    let w = &spec.workload;
    let file = open(spec)?;
    let fd = types::Fd(file.as_raw_fd());
    let mut ring = IoUring::new((w.qd as u32 + 1).next_power_of_two().max(8))?;
    let mut bufs: std::mem::ManuallyDrop<Vec<AlignedBuf>> =
        std::mem::ManuallyDrop::new((0..w.qd).map(|_| buffer(spec)).collect());
    let mut offsets = Offsets::new(spec, 0);
    let mut offs = vec![0u64; w.qd];
    let mut started = vec![Instant::now(); w.qd];
    let mut rec = Recorder::default();
    let bs = w.bs;
    let prep = |slot: usize, off: u64, buf: &mut AlignedBuf| -> squeue::Entry {
        let ptr = buf.as_mut_slice().as_mut_ptr();
        let entry = match w.op {
            Op::RandWrite => opcode::Write::new(fd, ptr, bs as u32).offset(off).build(),
            _ => opcode::Read::new(fd, ptr, bs as u32).offset(off).build(),
        };
        entry.user_data(slot as u64)
    };
    for slot in 0..w.qd {
        offs[slot] = offsets.next_offset();
        let e = prep(slot, offs[slot], &mut bufs[slot]);
        // SAFETY: the buffer is owned by `bufs`, which outlives every op (module invariant).
        unsafe { push(&mut ring, &e) }?;
    }
    let (mut in_flight, mut writes) = (w.qd, 0u32);
    while in_flight > 0 {
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
        let cqes: Vec<(u64, i32)> = ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        let now = Instant::now();
        for (data, res) in cqes {
            if res < 0 {
                return Err(io::Error::from_raw_os_error(-res));
            }
            let slot = (data & !SYNC) as usize;
            if data & SYNC == 0 {
                let ok = check(w.op, &bufs[slot].as_slice()[..bs], offs[slot], res as usize)?;
                rec.record(window, started[slot], now, bs, ok);
                // Like a thread or task doing its 32nd write: this slot syncs, then goes on.
                writes = writes.wrapping_add(1);
                if w.fsync_every.is_some_and(|every| writes % every == 0) {
                    let e = opcode::Fsync::new(fd)
                        .flags(types::FsyncFlags::DATASYNC)
                        .build();
                    // SAFETY: fsync names no memory.
                    unsafe { push(&mut ring, &e.user_data(SYNC | slot as u64)) }?;
                    continue;
                }
            }
            if window.open(now) {
                offs[slot] = offsets.next_offset();
                started[slot] = now;
                let e = prep(slot, offs[slot], &mut bufs[slot]);
                // SAFETY: as above: the buffer lives in `bufs` until this op's CQE is reaped.
                unsafe { push(&mut ring, &e) }?;
            } else {
                in_flight -= 1;
            }
        }
    }
    // Nothing is in flight any more: the buffers may be freed.
    drop(std::mem::ManuallyDrop::into_inner(bufs));
    Ok(rec)
}
