//! Plain std `pread`/`pwrite` on QD threads (capped at [`THREADS_MAX`]), one shared File.

use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use super::measure::{buffer, check, open, Offsets, Recorder, Window};
use super::spec::{FileSpec, Op};

/// Most threads this contender starts.
pub const THREADS_MAX: usize = 256;

/// Runs the threads until the window closes.
///
/// # Errors
/// Open, I/O or verification errors.
pub fn run(spec: &FileSpec, window: &Window) -> io::Result<Recorder> {
    let file = open(spec)?;
    let syncs = AtomicU32::new(0);
    let threads = spec.workload.qd.clamp(1, THREADS_MAX);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                let (file, syncs) = (&file, &syncs);
                s.spawn(move || thread(spec, window, t, file, syncs))
            })
            .collect();
        let mut total = Recorder::default();
        for h in handles {
            total.merge(
                &h.join()
                    .map_err(|_| io::Error::other("pread thread panicked"))??,
            );
        }
        Ok(total)
    })
}

fn thread(
    spec: &FileSpec,
    window: &Window,
    stream: u64,
    file: &std::fs::File,
    syncs: &AtomicU32,
) -> io::Result<Recorder> {
    let (op, bs) = (spec.workload.op, spec.workload.bs);
    let mut offsets = Offsets::new(spec, stream);
    let mut buf = buffer(spec);
    let mut rec = Recorder::default();
    // One clock reading per operation: its end is the next one's start.
    let mut start = Instant::now();
    loop {
        if !window.open(start) {
            return Ok(rec);
        }
        let off = offsets.next_offset();
        let data = &mut buf.as_mut_slice()[..bs];
        let n = if op == Op::RandWrite {
            file.write_at(data, off)?
        } else {
            file.read_at(data, off)?
        };
        let ok = check(op, data, off, n)?;
        let end = Instant::now();
        rec.record(window, start, end, bs, ok);
        start = end;
        if let Some(every) = spec.workload.fsync_every {
            if (syncs.fetch_add(1, Ordering::Relaxed) + 1) % every == 0 {
                file.sync_data()?;
                start = Instant::now();
            }
        }
    }
}
