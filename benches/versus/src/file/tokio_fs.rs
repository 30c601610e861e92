//! tokio contenders: `tokio::fs` as users write it, and `spawn_blocking` + `FileExt::read_at`.
//!
//! Both run on a multi-thread runtime with one worker per server core; concurrency is QD spawned
//! tasks. tokio's blocking pool threads inherit the process's server-core mask.

use std::io::{self, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::measure::{buffer, check, open, Offsets, Recorder, Window};
use super::spec::{FileSpec, Op};

fn runtime(spec: &FileSpec) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(spec.cores.len().max(1))
        .enable_all()
        .build()
}

/// Whether this completion is the N-th write since the last `fdatasync`.
fn sync_due(spec: &FileSpec, counter: &AtomicU32) -> bool {
    match spec.workload.fsync_every {
        Some(every) => (counter.fetch_add(1, Ordering::Relaxed) + 1) % every == 0,
        None => false,
    }
}

/// Runs QD tasks concurrently and merges their recorders.
fn run_tasks<F, Fut>(spec: &FileSpec, task: F) -> io::Result<Recorder>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = io::Result<Recorder>> + Send + 'static,
{
    runtime(spec)?.block_on(async {
        let handles: Vec<_> = (0..spec.workload.qd as u64)
            .map(|t| tokio::spawn(task(t)))
            .collect();
        let mut total = Recorder::default();
        for h in handles {
            total.merge(&h.await.map_err(io::Error::other)??);
        }
        Ok(total)
    })
}

/// `tokio::fs::File` + `seek` + `read_exact` / `write_all` + `flush`, one File per task.
///
/// # Errors
/// Open, I/O or verification errors.
pub fn run_fs(spec: &FileSpec, window: &Window) -> io::Result<Recorder> {
    let syncs = Arc::new(AtomicU32::new(0));
    run_tasks(spec, |t| fs_task(spec.clone(), *window, t, syncs.clone()))
}

async fn fs_task(
    spec: FileSpec,
    window: Window,
    stream: u64,
    syncs: Arc<AtomicU32>,
) -> io::Result<Recorder> {
    let w = &spec.workload;
    let mut file = tokio::fs::OpenOptions::new()
        .read(true)
        .write(w.op == Op::RandWrite)
        .open(&spec.path)
        .await?;
    let mut offsets = Offsets::new(&spec, stream);
    let mut buf = buffer(&spec);
    let mut pos = u64::MAX;
    let mut rec = Recorder::default();
    // One clock reading per operation: its end is the next one's start.
    let mut start = Instant::now();
    loop {
        if !window.open(start) {
            return Ok(rec);
        }
        let off = offsets.next_offset();
        if off != pos {
            file.seek(SeekFrom::Start(off)).await?;
        }
        let data = &mut buf.as_mut_slice()[..w.bs];
        if w.op == Op::RandWrite {
            file.write_all(data).await?;
            file.flush().await?;
        } else {
            file.read_exact(data).await?;
        }
        pos = off + w.bs as u64;
        let ok = check(w.op, data, off, w.bs)?;
        let end = Instant::now();
        rec.record(&window, start, end, w.bs, ok);
        start = end;
        if sync_due(&spec, &syncs) {
            file.sync_data().await?;
            start = Instant::now();
        }
    }
}

/// `tokio::task::spawn_blocking` + `FileExt::read_at` / `write_at` on one shared File.
///
/// # Errors
/// Open, I/O or verification errors.
pub fn run_blocking(spec: &FileSpec, window: &Window) -> io::Result<Recorder> {
    let file = Arc::new(open(spec)?);
    let syncs = Arc::new(AtomicU32::new(0));
    run_tasks(spec, |t| {
        blocking_task(spec.clone(), *window, t, file.clone(), syncs.clone())
    })
}

async fn blocking_task(
    spec: FileSpec,
    window: Window,
    stream: u64,
    file: Arc<std::fs::File>,
    syncs: Arc<AtomicU32>,
) -> io::Result<Recorder> {
    let (op, bs) = (spec.workload.op, spec.workload.bs);
    let mut offsets = Offsets::new(&spec, stream);
    let mut buf = buffer(&spec);
    let mut rec = Recorder::default();
    // One clock reading per operation: its end is the next one's start.
    let mut start = Instant::now();
    loop {
        if !window.open(start) {
            return Ok(rec);
        }
        let off = offsets.next_offset();
        let f = file.clone();
        let (b, res) = tokio::task::spawn_blocking(move || {
            let data = &mut buf.as_mut_slice()[..bs];
            let res = if op == Op::RandWrite {
                f.write_at(data, off)
            } else {
                f.read_at(data, off)
            };
            (buf, res)
        })
        .await
        .map_err(io::Error::other)?;
        buf = b;
        let ok = check(op, &buf.as_slice()[..bs], off, res?)?;
        let end = Instant::now();
        rec.record(&window, start, end, bs, ok);
        start = end;
        if sync_due(&spec, &syncs) {
            let f = file.clone();
            tokio::task::spawn_blocking(move || f.sync_data())
                .await
                .map_err(io::Error::other)??;
            start = Instant::now();
        }
    }
}
