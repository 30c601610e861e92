//! What the parent and a file contender agree on: the workload, the spec a worker child is
//! started with (as JSON on its command line) and the report it prints back (one JSON line).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::results::FileRun;

/// What each operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Reads at uniformly random block-aligned offsets.
    RandRead,
    /// Reads the file front to back, wrapping at the end.
    SeqRead,
    /// Writes at uniformly random block-aligned offsets.
    RandWrite,
}

/// One file workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Name used in tables and `--workloads`.
    pub name: String,
    /// Operation.
    pub op: Op,
    /// Block size in bytes.
    pub bs: usize,
    /// Operations in flight.
    pub qd: usize,
    /// `O_DIRECT`.
    pub direct: bool,
    /// `fdatasync` after every N writes.
    pub fsync_every: Option<u32>,
}

impl Workload {
    /// A workload named after its parameters (`randread-4k-qd32-direct`, ...).
    pub fn new(op: Op, bs: usize, qd: usize, direct: bool, fsync_every: Option<u32>) -> Workload {
        let kind = match op {
            Op::RandRead => "randread",
            Op::SeqRead => "seqread",
            Op::RandWrite => "randwrite",
        };
        let mut name = format!("{kind}-{}k-qd{qd}", bs / 1024);
        if direct {
            name.push_str("-direct");
        }
        if let Some(n) = fsync_every {
            name.push_str(&format!("-fdatasync{n}"));
        }
        Workload {
            name,
            op,
            bs,
            qd,
            direct,
            fsync_every,
        }
    }
}

/// What a file worker child runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileSpec {
    /// File to read or write.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// The workload.
    pub workload: Workload,
    /// Warm-up in ms.
    pub warmup_ms: u64,
    /// Measured window in ms.
    pub duration_ms: u64,
    /// Cores to pin to.
    pub cores: Vec<usize>,
}

/// What a file worker child prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Operations completed in the window.
    pub ops: u64,
    /// Bytes transferred by them.
    pub bytes: u64,
    /// Window length in seconds.
    pub window_s: f64,
    /// Median latency in ns.
    pub p50_ns: u64,
    /// 99th percentile latency in ns.
    pub p99_ns: u64,
    /// Process CPU (user + kernel) over the window in µs.
    pub cpu_us: f64,
    /// Verified operations.
    pub verified_ops: u64,
    /// Threads in the process at the end of the window.
    pub threads: usize,
}

impl WorkerReport {
    /// Converts to a [`FileRun`].
    pub fn into_run(self, contender: &str, workload: &Workload, rep: usize) -> FileRun {
        let secs = self.window_s.max(1e-9);
        FileRun {
            contender: contender.to_string(),
            workload: workload.name.clone(),
            rep,
            iops: self.ops as f64 / secs,
            mib_s: self.bytes as f64 / secs / (1 << 20) as f64,
            p50_us: self.p50_ns as f64 / 1e3,
            p99_us: self.p99_ns as f64 / 1e3,
            cpu_us_per_op: if self.ops > 0 {
                self.cpu_us / self.ops as f64
            } else {
                0.0
            },
            ops: self.ops,
            verified_ops: self.verified_ops,
            threads: self.threads,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_through_json() {
        let spec = FileSpec {
            path: "/tmp/x".into(),
            size: 1 << 30,
            workload: Workload::new(Op::RandWrite, 4096, 32, false, Some(32)),
            warmup_ms: 100,
            duration_ms: 750,
            cores: vec![0],
        };
        let json = serde_json::to_string(&spec).expect("serialize");
        assert_eq!(
            serde_json::from_str::<FileSpec>(&json).expect("parse"),
            spec
        );
    }
}
