//! The file part: workloads, contenders, and the parent-side matrix.
//!
//! Every contender except fio runs in a child process (`--file-worker CONTENDER SPEC_JSON`)
//! pinned to the server cores, measures its own window (after a warm-up) and prints one JSON
//! [`WorkerReport`] line. fio runs as its own process with matching parameters.
//!
//! Module layers (no import circles): [`spec`] (what parent and child agree on) and
//! [`measure`] (what every contender uses to issue, time and check operations) at the bottom;
//! the contenders above them; [`worker`] (the child's main, which dispatches to a contender)
//! and this module (the parent's matrix) on top.

use std::process::Command;
use std::time::Duration;

use crate::child::run_with_timeout;
use crate::results::{fill_file_ratios, FileCell, FileRun};
use crate::runner::Ctx;

pub mod dataset;
pub mod fio;
pub mod measure;
pub mod monoio;
pub mod pread;
pub mod raw_uring;
pub mod ringbolt;
pub mod spec;
pub mod tokio_fs;
pub mod worker;

use dataset::Dataset;
pub use spec::{FileSpec, Op, WorkerReport, Workload};

/// File contenders, in table order. `ringbolt-epoll` is the `ringbolt` contender on ringbolt's
/// epoll driver, where file I/O runs on the runtime's blocking pool.
pub const FILE_CONTENDERS: &[&str] = &[
    "ringbolt",
    "ringbolt-epoll",
    "monoio",
    "tokio-fs",
    "tokio-blocking",
    "std-pread",
    "fio-psync",
    "fio-uring",
    "raw-uring",
];

/// Warm-up before each file measurement window.
const WARMUP: Duration = Duration::from_millis(100);

/// The default workload list (direct ones only when `direct` is allowed).
pub fn workloads(qds: &[usize], direct: bool) -> Vec<Workload> {
    let mut w: Vec<Workload> = qds
        .iter()
        .map(|&qd| Workload::new(Op::RandRead, 4096, qd, false, None))
        .collect();
    if direct {
        w.extend(
            qds.iter()
                .map(|&qd| Workload::new(Op::RandRead, 4096, qd, true, None)),
        );
    }
    w.push(Workload::new(Op::SeqRead, 128 * 1024, 1, false, None));
    w.push(Workload::new(Op::RandWrite, 4096, 32, false, None));
    w.push(Workload::new(Op::RandWrite, 4096, 32, false, Some(32)));
    w
}

/// File contenders that can run here; the rest with the reason.
pub fn available() -> (Vec<&'static str>, Vec<String>) {
    let fio = fio::installed();
    let mut ok = Vec::new();
    let mut notes = Vec::new();
    for &c in FILE_CONTENDERS {
        if c.starts_with("fio") && !fio {
            notes.push(format!(
                "file {c}: skipped, fio is not installed (apt-get install fio)"
            ));
        } else {
            ok.push(c);
        }
    }
    (ok, notes)
}

/// Why `contender` cannot run `w`, if it cannot.
pub fn skip_reason(contender: &str, w: &Workload) -> Option<String> {
    (contender == "tokio-fs" && w.direct).then(|| {
        "tokio::fs reads through its own unaligned buffer, so O_DIRECT fails with EINVAL"
            .to_string()
    })
}

/// The workloads this run selects; notes say what was left out and why.
pub fn plan(ctx: &Ctx, ds: &Dataset, notes: &mut Vec<String>) -> Vec<Workload> {
    let direct = match ds.direct_io_supported() {
        Ok(()) => true,
        Err(why) => {
            notes.push(format!("file O_DIRECT workloads skipped: {why}"));
            false
        }
    };
    workloads(&ctx.args.qds, direct)
        .into_iter()
        .filter(|w| match &ctx.args.workloads {
            Some(filters) => filters.iter().any(|f| workload_matches(f, &w.name)),
            None => true,
        })
        .collect()
}

/// `--workloads` matching: the exact name, or a prefix when the filter ends with `*`.
pub fn workload_matches(filter: &str, name: &str) -> bool {
    match filter.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == filter,
    }
}

/// Runs every workload × repetition × contender (interleaved).
pub fn run_matrix(
    ctx: &Ctx,
    ds: &Dataset,
    workloads: &[Workload],
    contenders: &[String],
    notes: &mut Vec<String>,
) -> (Vec<FileCell>, Vec<FileRun>) {
    let mut cells = Vec::new();
    let mut all_runs = Vec::new();
    for w in workloads {
        let mut runs: Vec<Vec<FileRun>> = vec![Vec::new(); contenders.len()];
        let mut errors: Vec<Vec<String>> = vec![Vec::new(); contenders.len()];
        for rep in 0..ctx.args.file_reps {
            for (i, c) in contenders.iter().enumerate() {
                if let Some(why) = skip_reason(c, w) {
                    if rep == 0 {
                        notes.push(format!("file {c} {}: skipped, {why}", w.name));
                        errors[i].push(format!("skipped: {why}"));
                    }
                    continue;
                }
                ctx.step(&format!("file {c} {} rep {}", w.name, rep + 1));
                match run_one(ctx, ds, w, c) {
                    Ok(report) => runs[i].push(report.into_run(c, w, rep)),
                    Err(e) => errors[i].push(e),
                }
            }
        }
        for (i, c) in contenders.iter().enumerate() {
            let cell = FileCell::from_runs(c, &w.name, &runs[i], std::mem::take(&mut errors[i]));
            cells.push(cell);
            all_runs.append(&mut runs[i]);
        }
        let first = cells.len() - contenders.len();
        fill_file_ratios(&mut cells[first..]);
        for cell in &cells[first..] {
            ctx.println(&crate::report::table::file_line(cell));
        }
    }
    (cells, all_runs)
}

/// Number of progress steps for the file part.
pub fn planned_steps(ctx: &Ctx, workloads: &[Workload], contenders: &[String]) -> u64 {
    let runs: usize = workloads
        .iter()
        .map(|w| {
            contenders
                .iter()
                .filter(|c| skip_reason(c, w).is_none())
                .count()
        })
        .sum();
    (runs * ctx.args.file_reps) as u64
}

fn run_one(ctx: &Ctx, ds: &Dataset, w: &Workload, contender: &str) -> Result<WorkerReport, String> {
    let path = if w.op == Op::RandWrite {
        &ds.write
    } else {
        &ds.data
    };
    let spec = FileSpec {
        path: path.clone(),
        size: ds.size,
        workload: w.clone(),
        warmup_ms: WARMUP.as_millis() as u64,
        duration_ms: ctx.args.file_duration.as_millis().max(1) as u64,
        cores: ctx.args.server_cores.clone(),
    };
    let limit = WARMUP + ctx.args.file_duration + Duration::from_secs(60);
    if w.op == Op::RandWrite {
        // Start every write run clean: without this, the first contender's fdatasync would also
        // flush what the previous run left dirty.
        std::fs::File::open(&ds.write)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("sync {}: {e}", ds.write.display()))?;
    }
    if !w.direct {
        // A buffered workload: every contender starts with the whole file cached, however
        // long ago it was last used (see `Dataset::ensure_cached`).
        ds.ensure_cached(path)
            .map_err(|e| format!("pre-read {}: {e}", path.display()))?;
    }
    if let Some(engine) = contender.strip_prefix("fio-") {
        return fio::run(&spec, engine, limit);
    }
    let json = serde_json::to_string(&spec).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    crate::child::set_driver_env(&mut cmd, contender);
    cmd.args(["--file-worker", contender]).arg(json);
    let (ok, out, err) =
        run_with_timeout(&mut cmd, limit).map_err(|e| format!("{contender}: {e}"))?;
    if !ok {
        return Err(format!("{contender}: {}", err.trim()));
    }
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("{contender}: bad report {line:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_and_direct_toggle() {
        let names: Vec<String> = workloads(&[1, 32], true)
            .into_iter()
            .map(|w| w.name)
            .collect();
        assert_eq!(
            names,
            [
                "randread-4k-qd1",
                "randread-4k-qd32",
                "randread-4k-qd1-direct",
                "randread-4k-qd32-direct",
                "seqread-128k-qd1",
                "randwrite-4k-qd32",
                "randwrite-4k-qd32-fdatasync32"
            ]
        );
        assert_eq!(workloads(&[1], false).len(), 4);
    }

    #[test]
    fn workload_filters() {
        assert!(workload_matches("randread-4k-qd32", "randread-4k-qd32"));
        assert!(!workload_matches(
            "randread-4k-qd32",
            "randread-4k-qd32-direct"
        ));
        assert!(workload_matches("randread*", "randread-4k-qd32-direct"));
        assert!(!workload_matches("randread*", "seqread-128k-qd1"));
    }
}
