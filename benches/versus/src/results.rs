//! Result types: one run, one cell (the summary of a contender's runs), the whole report.
//! They serialize to `results.json` as they are; `results.csv` and the table read them too.

use serde::{Deserialize, Serialize};

use crate::stats::{median_of, Summary};

/// One echo measurement: one contender, one (conns, size), one repetition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EchoRun {
    /// Contender name.
    pub contender: String,
    /// Connections.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Repetition index.
    pub rep: usize,
    /// Attempt index (> 0 when earlier attempts were measured in the far state).
    pub attempt: usize,
    /// Round trips per second.
    pub rps: f64,
    /// Round trips in the window.
    pub round_trips: u64,
    /// Latency percentiles in µs.
    pub p50_us: f64,
    /// 99th percentile latency in µs.
    pub p99_us: f64,
    /// 99.9th percentile latency in µs.
    pub p999_us: f64,
    /// Server user CPU per round trip in µs.
    pub user_us_per_rt: f64,
    /// Server kernel CPU per round trip in µs.
    pub sys_us_per_rt: f64,
    /// Syscalls per round trip counted by the server itself (raw contenders).
    pub syscalls_per_rt: Option<f64>,
    /// Load generator CPU per round trip in µs (is the client the bottleneck?).
    pub client_us_per_rt: f64,
    /// Cache-line probe before the run, ns per bounce.
    pub probe_before_ns: Option<f64>,
    /// Cache-line probe after the run, ns per bounce.
    pub probe_after_ns: Option<f64>,
    /// Measured in the far state (a probe above the threshold).
    pub far: bool,
    /// Echoed bytes the load generator compared against what it sent.
    pub verified_bytes: u64,
    /// Open loop: messages dropped because the backlog was full.
    pub dropped: u64,
}

/// Summary of one contender in one echo cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EchoCell {
    /// Contender name.
    pub contender: String,
    /// Connections.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Thousands of round trips per second over the repetitions.
    pub krps: Option<Summary>,
    /// Median p50 latency in µs.
    pub p50_us: Option<f64>,
    /// Median p99 latency in µs.
    pub p99_us: Option<f64>,
    /// Median p99.9 latency in µs.
    pub p999_us: Option<f64>,
    /// Median server user µs per round trip.
    pub user_us_per_rt: Option<f64>,
    /// Median server kernel µs per round trip.
    pub sys_us_per_rt: Option<f64>,
    /// Syscalls per round trip.
    pub syscalls_per_rt: Option<f64>,
    /// Median load generator CPU µs per round trip.
    pub client_us_per_rt: Option<f64>,
    /// Where the syscall count came from: `self` (the server counted) or `perf`.
    pub syscalls_source: Option<String>,
    /// Largest probe value seen around the kept runs, ns per bounce.
    pub probe_max_ns: Option<f64>,
    /// Kept runs that were still in the far state after the retries.
    pub far_runs: usize,
    /// Median krps ÷ the better tokio setup's median krps.
    pub vs_best_tokio: Option<f64>,
    /// Median krps ÷ the raw io_uring loop's median krps.
    pub vs_raw_uring: Option<f64>,
    /// Errors, when some or all runs failed.
    pub errors: Vec<String>,
    /// Echoed bytes verified over all kept runs.
    pub verified_bytes: u64,
}

impl EchoCell {
    /// Summarises the runs of one contender in one cell (ratios are filled in later).
    pub fn from_runs(
        contender: &str,
        conns: usize,
        size: usize,
        runs: &[EchoRun],
        errors: Vec<String>,
    ) -> EchoCell {
        let krps: Vec<f64> = runs.iter().map(|r| r.rps / 1e3).collect();
        let med = |f: fn(&EchoRun) -> f64| median_of(runs.iter().map(|r| Some(f(r))));
        EchoCell {
            contender: contender.to_string(),
            conns,
            size,
            krps: Summary::of(&krps),
            p50_us: med(|r| r.p50_us),
            p99_us: med(|r| r.p99_us),
            p999_us: med(|r| r.p999_us),
            user_us_per_rt: med(|r| r.user_us_per_rt),
            sys_us_per_rt: med(|r| r.sys_us_per_rt),
            syscalls_per_rt: median_of(runs.iter().map(|r| r.syscalls_per_rt)),
            client_us_per_rt: med(|r| r.client_us_per_rt),
            syscalls_source: runs
                .iter()
                .any(|r| r.syscalls_per_rt.is_some())
                .then(|| "self".into()),
            probe_max_ns: runs
                .iter()
                .flat_map(|r| [r.probe_before_ns, r.probe_after_ns])
                .flatten()
                .reduce(f64::max),
            far_runs: runs.iter().filter(|r| r.far).count(),
            vs_best_tokio: None,
            vs_raw_uring: None,
            errors,
            verified_bytes: runs.iter().map(|r| r.verified_bytes).sum(),
        }
    }

    /// Median krps, if any run succeeded.
    pub fn krps_median(&self) -> Option<f64> {
        self.krps.as_ref().map(|s| s.median)
    }
}

/// Fills in `vs_best_tokio` and `vs_raw_uring` for every cell with the same (conns, size).
pub fn fill_echo_ratios(cells: &mut [EchoCell]) {
    let keys: Vec<(usize, usize)> = cells.iter().map(|c| (c.conns, c.size)).collect();
    for (conns, size) in keys {
        let of = |name: &str, cells: &[EchoCell]| {
            cells
                .iter()
                .find(|c| c.conns == conns && c.size == size && c.contender == name)
                .and_then(EchoCell::krps_median)
        };
        let tokio = match (of("tokio-mt", cells), of("tokio-percore", cells)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let raw = of("raw-uring", cells);
        for c in cells
            .iter_mut()
            .filter(|c| c.conns == conns && c.size == size)
        {
            let k = c.krps_median();
            c.vs_best_tokio = k.zip(tokio).map(|(k, t)| k / t);
            c.vs_raw_uring = k.zip(raw).map(|(k, r)| k / r);
        }
    }
}

/// One file measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRun {
    /// Contender name.
    pub contender: String,
    /// Workload name.
    pub workload: String,
    /// Repetition index.
    pub rep: usize,
    /// Operations per second.
    pub iops: f64,
    /// MiB per second.
    pub mib_s: f64,
    /// Median latency in µs.
    pub p50_us: f64,
    /// 99th percentile latency in µs.
    pub p99_us: f64,
    /// CPU (user + kernel) per operation in µs.
    pub cpu_us_per_op: f64,
    /// Operations completed in the window.
    pub ops: u64,
    /// Operations whose data was checked (reads) or whose full length was confirmed (writes).
    pub verified_ops: u64,
    /// Threads the contender used.
    pub threads: usize,
}

/// Summary of one contender on one file workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileCell {
    /// Contender name.
    pub contender: String,
    /// Workload name.
    pub workload: String,
    /// Thousands of operations per second over the repetitions.
    pub kiops: Option<Summary>,
    /// Median MiB/s.
    pub mib_s: Option<f64>,
    /// Median p50 latency in µs.
    pub p50_us: Option<f64>,
    /// Median p99 latency in µs.
    pub p99_us: Option<f64>,
    /// Median CPU µs per operation.
    pub cpu_us_per_op: Option<f64>,
    /// Median IOPS ÷ the raw io_uring loop's.
    pub vs_raw_uring: Option<f64>,
    /// Median IOPS ÷ `tokio::fs`'s.
    pub vs_tokio_fs: Option<f64>,
    /// Why the cell has no result (skipped or failed).
    pub errors: Vec<String>,
    /// Verified operations over all runs.
    pub verified_ops: u64,
}

impl FileCell {
    /// Summarises the runs of one contender on one workload.
    pub fn from_runs(
        contender: &str,
        workload: &str,
        runs: &[FileRun],
        errors: Vec<String>,
    ) -> FileCell {
        let kiops: Vec<f64> = runs.iter().map(|r| r.iops / 1e3).collect();
        let med = |f: fn(&FileRun) -> f64| median_of(runs.iter().map(|r| Some(f(r))));
        FileCell {
            contender: contender.to_string(),
            workload: workload.to_string(),
            kiops: Summary::of(&kiops),
            mib_s: med(|r| r.mib_s),
            p50_us: med(|r| r.p50_us),
            p99_us: med(|r| r.p99_us),
            cpu_us_per_op: med(|r| r.cpu_us_per_op),
            vs_raw_uring: None,
            vs_tokio_fs: None,
            errors,
            verified_ops: runs.iter().map(|r| r.verified_ops).sum(),
        }
    }
}

/// Fills in `vs_raw_uring` and `vs_tokio_fs` for every file cell.
pub fn fill_file_ratios(cells: &mut [FileCell]) {
    let of = |name: &str, cells: &[FileCell]| -> Vec<(String, f64)> {
        cells
            .iter()
            .filter(|c| c.contender == name)
            .filter_map(|c| Some((c.workload.clone(), c.kiops.as_ref()?.median)))
            .collect()
    };
    let (raw, tokio_fs) = (of("raw-uring", cells), of("tokio-fs", cells));
    let find = |v: &[(String, f64)], w: &str| v.iter().find(|(x, _)| x == w).map(|(_, k)| *k);
    for c in cells.iter_mut() {
        let k = c.kiops.as_ref().map(|k| k.median);
        c.vs_raw_uring = k.zip(find(&raw, &c.workload)).map(|(k, r)| k / r);
        c.vs_tokio_fs = k.zip(find(&tokio_fs, &c.workload)).map(|(k, t)| k / t);
    }
}

/// Where the figures came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `uname -sr`-style kernel string.
    pub kernel: String,
    /// CPU model name.
    pub cpu: String,
    /// Online CPUs.
    pub cpus: usize,
    /// Server cores.
    pub server_cores: Vec<usize>,
    /// Load generator cores.
    pub client_cores: Vec<usize>,
    /// 1-minute load average when the run started (other work on the machine skews figures).
    pub load_avg_start: f64,
    /// 1-minute load average when the run ended.
    pub load_avg_end: f64,
}

/// Everything one invocation measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The command line.
    pub command: String,
    /// Machine description.
    pub machine: Machine,
    /// Echo mode: `closed` or `open R/s`.
    pub echo_mode: String,
    /// Echo cell summaries.
    pub echo: Vec<EchoCell>,
    /// Every echo run kept.
    pub echo_runs: Vec<EchoRun>,
    /// HTTP cell summaries (`size` is the response body length; a round trip is a request).
    #[serde(default)]
    pub http: Vec<EchoCell>,
    /// Every HTTP run kept.
    #[serde(default)]
    pub http_runs: Vec<EchoRun>,
    /// File cell summaries.
    pub file: Vec<FileCell>,
    /// Every file run.
    pub file_runs: Vec<FileRun>,
    /// Notes: skipped contenders and workloads, with reasons.
    pub notes: Vec<String>,
    /// Probe threshold of the far state, ns per bounce.
    pub far_ns: f64,
    /// Wall time of the whole run in seconds.
    pub wall_s: f64,
}
