//! What every file contender uses: the measured window, per-thread counters, the offset
//! stream, the completion check, and the file and buffer a workload needs.
//!
//! Rules:
//! 1. An operation counts when it completes inside the window; contenders stop issuing new
//!    operations at the window's end and drain what is in flight.
//! 2. Every completed operation is checked: full length, and for reads the data pattern at its
//!    offset.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Instant;

use super::dataset::{fill, AlignedBuf};
use super::spec::{FileSpec, Op};
use crate::stats::Histogram;

/// The measured window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Start (end of warm-up).
    pub start: Instant,
    /// End: no new operation is issued after it.
    pub end: Instant,
}

impl Window {
    /// Whether new operations may still be issued.
    pub fn open(&self, now: Instant) -> bool {
        now < self.end
    }
}

/// Per-thread (or per-task) operation counters.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    /// Latencies in ns.
    pub hist: Histogram,
    /// Operations completed in the window.
    pub ops: u64,
    /// Bytes of those operations.
    pub bytes: u64,
    /// Verified operations among them.
    pub verified: u64,
}

impl Recorder {
    /// Records an operation issued at `start` and completed at `end`.
    #[inline]
    pub fn record(
        &mut self,
        w: &Window,
        start: Instant,
        end: Instant,
        bytes: usize,
        verified: bool,
    ) {
        if end >= w.start && end < w.end {
            self.ops += 1;
            self.bytes += bytes as u64;
            self.verified += u64::from(verified);
            self.hist
                .record(end.saturating_duration_since(start).as_nanos() as u64);
        }
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Recorder) {
        self.hist.merge(&other.hist);
        self.ops += other.ops;
        self.bytes += other.bytes;
        self.verified += other.verified;
    }
}

/// Offsets for one stream of operations: random block-aligned, or sequential wrapping.
#[derive(Clone, Debug)]
pub struct Offsets {
    op: Op,
    blocks: u64,
    bs: u64,
    state: u64,
}

impl Offsets {
    /// A stream for `spec`; `stream` seeds the random ones and staggers the sequential ones.
    pub fn new(spec: &FileSpec, stream: u64) -> Offsets {
        let bs = spec.workload.bs as u64;
        let blocks = (spec.size / bs).max(1);
        let state = match spec.workload.op {
            Op::SeqRead => stream * (blocks / (spec.workload.qd as u64).max(1)),
            _ => 0x9E37_79B9_7F4A_7C15 ^ (stream + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
        };
        Offsets {
            op: spec.workload.op,
            blocks,
            bs,
            state,
        }
    }

    /// The next offset.
    #[inline]
    pub fn next_offset(&mut self) -> u64 {
        let block = match self.op {
            Op::SeqRead => {
                let b = self.state % self.blocks;
                self.state = b + 1;
                b
            }
            _ => {
                // xorshift64*
                self.state ^= self.state >> 12;
                self.state ^= self.state << 25;
                self.state ^= self.state >> 27;
                self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % self.blocks
            }
        };
        block * self.bs
    }
}

/// Opens the spec's file with the workload's flags.
///
/// # Errors
/// Any open error.
pub fn open(spec: &FileSpec) -> io::Result<std::fs::File> {
    let w = &spec.workload;
    OpenOptions::new()
        .read(true)
        .write(w.op == Op::RandWrite)
        .custom_flags(if w.direct { libc::O_DIRECT } else { 0 })
        .open(&spec.path)
}

/// An I/O buffer for the spec: aligned, pre-filled with the pattern for writes.
pub fn buffer(spec: &FileSpec) -> AlignedBuf {
    let mut b = AlignedBuf::new(spec.workload.bs);
    if spec.workload.op == Op::RandWrite {
        fill(b.as_mut_slice(), 0);
    }
    b
}

/// Checks a completed operation: reads must match the pattern, every op must be full length.
///
/// # Errors
/// A short transfer or a pattern mismatch.
pub fn check(op: Op, buf: &[u8], off: u64, n: usize) -> io::Result<bool> {
    if n != buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("short transfer: {n} of {} bytes at {off}", buf.len()),
        ));
    }
    if op == Op::RandWrite {
        return Ok(true);
    }
    if super::dataset::verify(buf, off) {
        Ok(true)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("data at offset {off} does not match the pattern"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::file::Workload;

    fn spec(op: Op, qd: usize) -> FileSpec {
        FileSpec {
            path: "/nonexistent".into(),
            size: 1 << 20,
            workload: Workload {
                name: "t".into(),
                op,
                bs: 4096,
                qd,
                direct: false,
                fsync_every: None,
            },
            warmup_ms: 0,
            duration_ms: 1,
            cores: vec![0],
        }
    }

    #[test]
    fn random_offsets_are_aligned_and_in_range() {
        let mut o = Offsets::new(&spec(Op::RandRead, 1), 3);
        let offs: Vec<u64> = (0..1000).map(|_| o.next_offset()).collect();
        assert!(offs.iter().all(|&x| x % 4096 == 0 && x < 1 << 20));
        let distinct: std::collections::HashSet<_> = offs.iter().collect();
        assert!(distinct.len() > 200, "{}", distinct.len());
    }

    #[test]
    fn sequential_offsets_wrap() {
        let mut o = Offsets::new(&spec(Op::SeqRead, 1), 0);
        let offs: Vec<u64> = (0..257).map(|_| o.next_offset()).collect();
        assert_eq!(offs[0], 0);
        assert_eq!(offs[1], 4096);
        assert_eq!(offs[255], 255 * 4096);
        assert_eq!(offs[256], 0);
    }

    #[test]
    fn recorder_counts_only_inside_window() {
        let t0 = Instant::now();
        let w = Window {
            start: t0 + Duration::from_millis(10),
            end: t0 + Duration::from_millis(20),
        };
        let mut r = Recorder::default();
        r.record(&w, t0, t0 + Duration::from_millis(5), 4096, true);
        r.record(&w, t0, t0 + Duration::from_millis(15), 4096, true);
        r.record(&w, t0, t0 + Duration::from_millis(25), 4096, true);
        assert_eq!((r.ops, r.bytes, r.verified), (1, 4096, 1));
    }
}
