//! ringbolt fs contender: one ringbolt runtime on this (pinned) thread, QD spawned tasks sharing
//! one `ringbolt_fs::File`, each doing `read_at` / `write_at` with an owned, page-aligned buffer
//! from `File::alloc_aligned`, like the other contenders. (A plain 128 KiB `Vec` starts 16 bytes
//! past a page boundary, where the kernel's copy into user memory ran about 6x slower on this
//! AMD host: `seqread-128k-qd1` measured 0.22x the bare ring with it, 0.97x aligned.)
//!
//! `ringbolt-epoll` runs this contender on the epoll driver (started with
//! `RINGBOLT_DRIVER=epoll`, checked in the child), where file I/O goes to the blocking pool.

use std::io;
use std::rc::Rc;
use std::time::Instant;

use ringbolt_fs::IoBufMut;
use ringbolt_fs::{File, OpenOptions};

use super::dataset::fill;
use super::measure::{check, Offsets, Recorder, Window};
use super::spec::{FileSpec, Op};

/// Runs QD tasks on a one-core ringbolt runtime until the window closes.
///
/// # Errors
/// Runtime setup, open, I/O or verification errors.
pub fn run(spec: &FileSpec, window: &Window) -> io::Result<Recorder> {
    let rt = ringbolt_runtime::Runtime::new()?;
    rt.block_on(async {
        crate::child::check_driver().map_err(io::Error::other)?;
        let w = &spec.workload;
        let file = Rc::new(
            OpenOptions::new()
                .read(true)
                .write(w.op == Op::RandWrite)
                .direct(w.direct)
                .open(&spec.path)
                .await?,
        );
        let writes = Rc::new(std::cell::Cell::new(0u32));
        let handles: Vec<_> = (0..w.qd as u64)
            .map(|t| {
                let (file, writes, spec, window) =
                    (file.clone(), writes.clone(), spec.clone(), *window);
                ringbolt_runtime::spawn(async move {
                    let buf = file.alloc_aligned(spec.workload.bs);
                    task(&file, buf, &spec, &window, t, &writes).await
                })
            })
            .collect();
        let mut total = Recorder::default();
        for h in handles {
            total.merge(&h.await.map_err(io::Error::from)??);
        }
        Ok(total)
    })
}

/// Buffers this contender uses: owned, kernel-fillable, readable as bytes.
trait Buf: IoBufMut + std::ops::DerefMut<Target = [u8]> {
    fn clear_len(&mut self);
    fn fill_pattern(&mut self, bs: usize);
}

impl Buf for Vec<u8> {
    fn clear_len(&mut self) {
        self.clear();
    }
    fn fill_pattern(&mut self, bs: usize) {
        self.resize(bs, 0);
        fill(self, 0);
    }
}

impl Buf for ringbolt_fs::AlignedBuf {
    fn clear_len(&mut self) {
        self.clear();
    }
    fn fill_pattern(&mut self, bs: usize) {
        self.set_len(bs);
        fill(self, 0);
    }
}

async fn task<B: Buf>(
    file: &File,
    mut buf: B,
    spec: &FileSpec,
    window: &Window,
    stream: u64,
    writes: &std::cell::Cell<u32>,
) -> io::Result<Recorder> {
    let (op, bs) = (spec.workload.op, spec.workload.bs);
    let mut offsets = Offsets::new(spec, stream);
    let mut rec = Recorder::default();
    if op == Op::RandWrite {
        buf.fill_pattern(bs);
    }
    // One clock reading per operation: its end is the next one's start.
    let mut start = Instant::now();
    loop {
        if !window.open(start) {
            return Ok(rec);
        }
        let off = offsets.next_offset();
        let (res, b) = if op == Op::RandWrite {
            file.write_at(buf, off).await
        } else {
            buf.clear_len();
            file.read_at(buf, off).await
        };
        buf = b;
        let n = res?;
        if n != bs {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("short transfer: {n} of {bs} bytes at {off}"),
            ));
        }
        let ok = check(op, &buf[..bs], off, n)?;
        let end = Instant::now();
        rec.record(window, start, end, bs, ok);
        start = end;
        if let Some(every) = spec.workload.fsync_every {
            writes.set(writes.get() + 1);
            if writes.get() % every == 0 {
                file.sync_data().await?;
                start = Instant::now();
            }
        }
    }
}
