//! The provided methods of the owned-buffer traits over a source and a sink that move at most
//! a few random bytes per call: `write_all` and `writev_all` resume exactly where a short write
//! stopped (empty buffers included, every buffer given back in order), `read_exact` fills the
//! capacity, `read_to_end` appends, `copy` moves everything, and the errors say what happened.

mod common;

use common::{run, Rng};
use ringbolt_runtime::buf::{BufResult, IoBuf, IoBufMut};
use ringbolt_runtime::io::{copy, AsyncReadOwned, AsyncWriteOwned};
use std::future::Future;
use std::io;

/// Accepts 1..=max bytes per write (0 once `full`), gathering from several buffers at once.
struct ChunkySink {
    data: Vec<u8>,
    rng: Rng,
    max: usize,
    full: bool,
    calls: usize,
}

fn bytes<B: IoBuf>(b: &B) -> &[u8] {
    // SAFETY: stable_ptr points to bytes_init() initialised bytes owned by `b`.
    unsafe { std::slice::from_raw_parts(b.stable_ptr(), b.bytes_init()) }
}

impl ChunkySink {
    fn take(&mut self, parts: &[&[u8]]) -> usize {
        self.calls += 1;
        if self.full {
            return 0;
        }
        let mut budget = 1 + self.rng.below(self.max as u64) as usize;
        let mut n = 0;
        for p in parts {
            let k = p.len().min(budget);
            self.data.extend_from_slice(&p[..k]);
            budget -= k;
            n += k;
            if budget == 0 {
                break;
            }
        }
        n
    }
}

impl AsyncWriteOwned for ChunkySink {
    fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
        let n = self.take(&[bytes(&buf)]);
        std::future::ready((Ok(n), buf))
    }
    fn writev<B: IoBuf>(&mut self, bufs: Vec<B>) -> impl Future<Output = BufResult<usize, Vec<B>>> {
        let parts: Vec<&[u8]> = bufs.iter().map(bytes).collect();
        let n = self.take(&parts);
        std::future::ready((Ok(n), bufs))
    }
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        std::future::ready(Ok(()))
    }
}

/// Yields `data` 1..=max bytes per read, then end of stream.
struct ChunkySource {
    data: Vec<u8>,
    pos: usize,
    rng: Rng,
    max: usize,
}

impl AsyncReadOwned for ChunkySource {
    fn read<B: IoBufMut>(&mut self, mut buf: B) -> impl Future<Output = BufResult<usize, B>> {
        let want = buf.bytes_total();
        let n = (1 + self.rng.below(self.max as u64) as usize)
            .min(want)
            .min(self.data.len() - self.pos);
        // SAFETY: buf has `want >= n` writable bytes; the source is our own Vec.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data[self.pos..].as_ptr(), buf.stable_mut_ptr(), n)
        };
        // SAFETY: n bytes were just written from the start, n <= bytes_total.
        unsafe { buf.set_init(n) };
        self.pos += n;
        std::future::ready((Ok(n), buf))
    }
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..len).map(|_| r.next() as u8).collect()
}

#[test]
fn writev_all_resumes_inside_and_across_buffers() {
    run(async {
        let mut sink = ChunkySink {
            data: Vec::new(),
            rng: Rng(7),
            max: 50,
            full: false,
            calls: 0,
        };
        let mut rng = Rng(3);
        let bufs: Vec<Vec<u8>> = (0..40u64)
            .map(|i| {
                let len = if i % 7 == 3 {
                    0
                } else {
                    rng.below(120) as usize
                };
                pattern(len, i + 1)
            })
            .collect();
        let want: Vec<u8> = bufs.concat();
        let before: Vec<Vec<u8>> = bufs.clone();
        let (res, back) = sink.writev_all(bufs).await;
        res.unwrap();
        assert_eq!(
            back, before,
            "every buffer comes back, unchanged and in order"
        );
        assert_eq!(sink.data, want);
        assert!(
            sink.calls > 40,
            "the sink forced many short writes ({})",
            sink.calls
        );

        // write_all over a slice-able buffer.
        sink.data.clear();
        let body = pattern(5000, 99);
        let (res, back) = sink.write_all(body.clone()).await;
        res.unwrap();
        assert_eq!(back, body);
        assert_eq!(sink.data, body);
    });
}

#[test]
fn a_sink_that_accepts_nothing_is_write_zero() {
    run(async {
        let mut sink = ChunkySink {
            data: Vec::new(),
            rng: Rng(1),
            max: 10,
            full: true,
            calls: 0,
        };
        let (res, back) = sink.writev_all(vec![b"ab".to_vec(), b"cd".to_vec()]).await;
        assert_eq!(res.unwrap_err().kind(), io::ErrorKind::WriteZero);
        assert_eq!(back, vec![b"ab".to_vec(), b"cd".to_vec()]);
        let (res, _) = sink.write_all(b"x".to_vec()).await;
        assert_eq!(res.unwrap_err().kind(), io::ErrorKind::WriteZero);
        // Nothing to send is not an error.
        let (res, _) = sink.writev_all(vec![Vec::<u8>::new(), Vec::new()]).await;
        res.unwrap();
    });
}

#[test]
fn read_exact_read_to_end_and_copy_over_short_reads() {
    run(async {
        let data = pattern(100_000, 5);
        let mut src = ChunkySource {
            data: data.clone(),
            pos: 0,
            rng: Rng(11),
            max: 700,
        };
        // read_exact fills the capacity (a stale len does not matter) ...
        let mut head = Vec::with_capacity(1000);
        head.extend_from_slice(&[0xee; 10]);
        let (res, head) = src.read_exact(head).await;
        res.unwrap();
        assert_eq!(head, data[..1000]);
        // ... or exactly `n` bytes through a slice of a bigger buffer.
        let (res, s) = src.read_exact(Vec::with_capacity(4096).slice(..24)).await;
        res.unwrap();
        assert_eq!(s.into_inner(), data[1000..1024]);
        // read_to_end appends to what the Vec holds.
        let (res, all) = src.read_to_end(b"prefix".to_vec()).await;
        assert_eq!(res.unwrap(), data.len() - 1024);
        assert_eq!(&all[..6], b"prefix");
        assert_eq!(all[6..], data[1024..]);
        // At end of stream read_exact is UnexpectedEof.
        let (res, buf) = src.read_exact(Vec::with_capacity(8)).await;
        assert_eq!(res.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert!(buf.is_empty());

        // copy from a chunky source into a chunky sink.
        let mut src = ChunkySource {
            data: data.clone(),
            pos: 0,
            rng: Rng(13),
            max: 3000,
        };
        let mut sink = ChunkySink {
            data: Vec::new(),
            rng: Rng(17),
            max: 900,
            full: false,
            calls: 0,
        };
        let n = copy(&mut src, &mut sink).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(sink.data, data);
    });
}
