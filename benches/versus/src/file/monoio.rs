//! monoio fs contender: one monoio runtime (io_uring driver) on this pinned thread, QD spawned
//! tasks sharing one `monoio::fs::File`, each doing `read_at` / `write_at` with an owned,
//! page-aligned buffer — the same shape as the ringbolt contender. (An unaligned 128 KiB `Vec`
//! made `seqread-128k-qd1` about 5x slower here: the kernel's copy into an address just past a
//! page boundary is slow on this AMD host.)

use std::cell::Cell;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;
use std::time::Instant;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::fs::{File, OpenOptions};

use super::dataset::{fill, AlignedBuf};
use super::measure::{check, Offsets, Recorder, Window};
use super::spec::{FileSpec, Op};

/// Runs QD tasks on a monoio runtime until the window closes.
///
/// # Errors
/// Runtime setup (io_uring unavailable), open, I/O or verification errors.
pub fn run(spec: &FileSpec, window: &Window) -> io::Result<Recorder> {
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new().build()?;
    rt.block_on(async {
        let w = &spec.workload;
        let file = Rc::new(
            OpenOptions::new()
                .read(true)
                .write(w.op == Op::RandWrite)
                .custom_flags(if w.direct { libc::O_DIRECT } else { 0 })
                .open(&spec.path)
                .await?,
        );
        let writes = Rc::new(Cell::new(0u32));
        let handles: Vec<_> = (0..w.qd as u64)
            .map(|t| {
                let (file, writes, spec, window) =
                    (file.clone(), writes.clone(), spec.clone(), *window);
                monoio::spawn(async move {
                    let buf = Aligned(AlignedBuf::new(spec.workload.bs));
                    task(&file, buf, &spec, &window, t, &writes).await
                })
            })
            .collect();
        let mut total = Recorder::default();
        for h in handles {
            total.merge(&h.await?);
        }
        Ok(total)
    })
}

/// An [`AlignedBuf`] lent to monoio for `O_DIRECT`.
struct Aligned(AlignedBuf);

// SAFETY: `read_ptr` points into the AlignedBuf's heap allocation, which keeps its address when
// the wrapper moves and lives until the wrapper is dropped; all of its bytes are initialised
// (zeroed when allocated), so `bytes_init` may name every one.
unsafe impl IoBuf for Aligned {
    fn read_ptr(&self) -> *const u8 {
        self.0.as_slice().as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.0.as_slice().len()
    }
}

// SAFETY: as for `IoBuf`: a stable heap address, and `bytes_total` is the allocation's length, so
// the kernel writes only inside it. Every byte is always initialised, so `set_init` has nothing
// to record.
unsafe impl IoBufMut for Aligned {
    fn write_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_slice().as_mut_ptr()
    }

    fn bytes_total(&mut self) -> usize {
        self.0.as_slice().len()
    }

    unsafe fn set_init(&mut self, _pos: usize) {}
}

/// Buffers this contender uses: owned, kernel-fillable, readable as bytes.
trait Buf: IoBuf + IoBufMut {
    fn bytes(&self) -> &[u8];
    fn clear_len(&mut self);
    fn fill_pattern(&mut self, bs: usize);
}

impl Buf for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn clear_len(&mut self) {
        self.clear();
    }
    fn fill_pattern(&mut self, bs: usize) {
        self.resize(bs, 0);
        fill(self, 0);
    }
}

impl Buf for Aligned {
    fn bytes(&self) -> &[u8] {
        self.0.as_slice()
    }
    fn clear_len(&mut self) {}
    fn fill_pattern(&mut self, _bs: usize) {
        fill(self.0.as_mut_slice(), 0);
    }
}

async fn task<B: Buf>(
    file: &File,
    mut buf: B,
    spec: &FileSpec,
    window: &Window,
    stream: u64,
    writes: &Cell<u32>,
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
        let ok = check(op, &buf.bytes()[..bs], off, n)?;
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
