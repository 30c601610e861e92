//! The page-cache fast path: `read_at` tries `preadv2(RWF_NOWAIT)` first and returns exactly
//! what the ring would (data, short reads at end of file, errors); a miss goes to the ring and
//! makes the next read skip the attempt; a range cached in part is finished by the ring;
//! direct files never take it. Whether an op reached the ring is read from the core's
//! `ops_submitted` counter.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

fn ring_ops() -> u64 {
    ringbolt_runtime::stats().ops_submitted
}

/// Ring ops a read takes: `inline` with the fast path, 1 under fault injection (the fast path
/// is off there: faults act on SQEs, and `scripts/faults.sh` runs this file too).
fn expect_ring(inline: u64) -> u64 {
    if std::env::var_os("RINGBOLT_FAULT_SEED").is_some() {
        1
    } else {
        inline
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096)
}

/// Which of the file's first `pages` pages are in the page cache (`mincore` on a mapping).
fn cached(f: &File, pages: usize) -> Vec<bool> {
    let len = pages * page_size();
    // SAFETY: a new shared read-only mapping of `len` bytes of an fd the File keeps open. It
    // is never read (only its residency is asked for) and is unmapped below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap for mincore");
    let mut resident = vec![0u8; pages];
    // SAFETY: `p` is the mapping made above, `len` bytes long; `resident` has a byte per page.
    let r = unsafe { libc::mincore(p, len, resident.as_mut_ptr()) };
    // SAFETY: unmaps exactly the mapping made above, which nothing else refers to.
    unsafe { libc::munmap(p, len) };
    assert_eq!(r, 0, "mincore");
    resident.iter().map(|b| b & 1 != 0).collect()
}

/// Drops the file's first `pages` pages from the page cache (they are clean after
/// `sync_all`), checking with `mincore` that they are gone: `POSIX_FADV_DONTNEED` skips pages
/// still held in another CPU's LRU batch, so it is repeated for up to a second. False if the
/// kernel kept some cached all that time (the caller then skips its check and says so).
fn evict(f: &File, pages: usize) -> bool {
    for _ in 0..200 {
        // SAFETY: fadvise on an fd the File keeps open; no memory is passed.
        let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(r, 0, "fadvise DONTNEED");
        if !cached(f, pages).contains(&true) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// Reads `(offset, capacity)` from `f`, returning the result and the bytes.
async fn read(f: &File, offset: u64, cap: usize) -> (Result<usize, i32>, Vec<u8>) {
    let (res, buf) = f.read_at(Vec::with_capacity(cap), offset).await;
    (res.map_err(|e| e.raw_os_error().unwrap_or(-1)), buf)
}

#[test]
fn cached_reads_match_the_ring_and_skip_it() {
    let dir = TempDir::new("fast-path-match");
    let path = dir.join("f");
    // Three pages and a bit: end of file inside a page.
    let data = Rng::new(11).bytes(3 * 4096 + 1000);
    std::fs::write(&path, &data).expect("seed file");
    let cases: &[(u64, usize)] = &[
        (0, 4096),
        (100, 5000),
        (8192, 8192),  // short: end of file inside the last page
        (12288, 4096), // short: the last 1000 bytes
        (13288, 100),  // at end of file: 0
        (1 << 30, 64), // far past it: 0
        (4096, 0),     // an empty buffer: 0, not end of file
    ];
    run(secs(30), async {
        let fast = File::open(&path).await.expect("open");
        let ring = File::open(&path).await.expect("open");
        ring.set_inline_io(false);
        let _ = read(&fast, 0, data.len()).await; // the pages are cached from here on
        for &(off, cap) in cases {
            let before = ring_ops();
            let got = read(&fast, off, cap).await;
            let inline_ring_ops = ring_ops() - before;
            let before = ring_ops();
            let want = read(&ring, off, cap).await;
            assert_eq!(
                ring_ops() - before,
                1,
                "set_inline_io(false) keeps reads on the ring"
            );
            assert_eq!(got, want, "read of {cap} at {off}");
            let end = (off as usize).min(data.len());
            let expect = &data[end..(end + cap).min(data.len())];
            assert_eq!(&got.1[..], expect, "bytes of {cap} at {off}");
            // An empty buffer is not worth an attempt; everything else was served inline.
            let expected_ring = expect_ring(u64::from(cap == 0));
            assert_eq!(
                inline_ring_ops, expected_ring,
                "ring ops for {cap} at {off}"
            );
        }
    });
}

#[test]
fn page_aligned_end_of_file_asks_the_ring() {
    let dir = TempDir::new("fast-path-aligned-eof");
    let path = dir.join("f");
    let data = Rng::new(12).bytes(2 * 4096);
    std::fs::write(&path, &data).expect("seed file");
    run(secs(30), async {
        let f = File::open(&path).await.expect("open");
        let _ = read(&f, 0, data.len()).await;
        // 4096 bytes inline, ending on a page boundary: a miss or end of file? The ring reads
        // the rest (0 bytes) to find out, and the op reports 4096, as one pread would.
        let before = ring_ops();
        let (res, buf) = read(&f, 4096, 8192).await;
        assert_eq!(res, Ok(4096));
        assert_eq!(&buf[..], &data[4096..]);
        assert_eq!(ring_ops() - before, 1);
    });
}

#[test]
fn errors_are_the_rings() {
    let dir = TempDir::new("fast-path-errors");
    let path = dir.join("f");
    std::fs::write(&path, b"write only").expect("seed file");
    run(secs(30), async {
        for inline in [true, false] {
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .await
                .expect("open");
            f.set_inline_io(inline);
            // Twice: the first error turns the attempts off, the second read goes straight
            // to the ring; both report the ring's EBADF.
            for _ in 0..2 {
                let before = ring_ops();
                let (res, _) = read(&f, 0, 16).await;
                assert_eq!(res, Err(libc::EBADF), "inline {inline}");
                assert_eq!(ring_ops() - before, 1, "errors come from the ring");
            }
        }
    });
}

#[test]
fn a_miss_goes_to_the_ring_and_the_next_read_skips_the_attempt() {
    let dir = TempDir::new("fast-path-miss");
    let path = dir.join("f");
    let data = Rng::new(13).bytes(64 * 1024);
    std::fs::write(&path, &data).expect("seed file");
    run(secs(30), async {
        let f = File::open(&path).await.expect("open");
        f.sync_all().await.expect("fsync");
        // A miss (EAGAIN inline): the ring reads it, with the same bytes. An uncached page is
        // not always a miss: `RWF_NOWAIT` still starts readahead, and a fast enough device
        // finishes it before the read looks again (then the read is served inline, also with
        // the same bytes). So evict and try again until one read misses.
        let mut missed = false;
        for _ in 0..50 {
            if !evict(&f, 16) {
                break;
            }
            let before = ring_ops();
            let (res, buf) = read(&f, 0, 4096).await;
            assert_eq!(res, Ok(4096));
            assert_eq!(&buf[..], &data[..4096]);
            if ring_ops() - before == 1 {
                missed = true;
                break;
            }
        }
        if !missed {
            eprintln!("SKIP: every read of an evicted page was served inline (or eviction failed)");
            return;
        }
        // After one miss the next read skips the attempt, even though its page is cached now.
        let before = ring_ops();
        let (res, _) = read(&f, 0, 4096).await;
        assert_eq!(res, Ok(4096));
        assert_eq!(
            ring_ops() - before,
            1,
            "the read after a miss skips the attempt"
        );
        // Then attempts resume, and a hit is served inline.
        let before = ring_ops();
        let (res, buf) = read(&f, 0, 4096).await;
        assert_eq!(res, Ok(4096));
        assert_eq!(&buf[..], &data[..4096]);
        assert_eq!(
            ring_ops() - before,
            expect_ring(0),
            "attempts resume after the skip"
        );
    });
}

#[test]
fn a_range_cached_in_part_is_finished_by_the_ring() {
    let dir = TempDir::new("fast-path-partial");
    let path = dir.join("f");
    let data = Rng::new(14).bytes(4 * 4096);
    std::fs::write(&path, &data).expect("seed file");
    run(secs(30), async {
        let f = File::open(&path).await.expect("open");
        f.sync_all().await.expect("fsync");
        let fd = f.as_raw_fd();
        // No readahead on this open file, then only the first page back in the cache.
        // SAFETY: fadvise on an fd the File keeps open; no memory is passed.
        let r = unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_RANDOM) };
        assert_eq!(r, 0, "fadvise RANDOM");
        // Only the first page cached, checked with mincore (eviction can miss pages that
        // another CPU still batches). As in the test above, `RWF_NOWAIT` can still read the
        // uncached pages inline when readahead beats it; then the read is whole and inline,
        // and the setup is tried again until the rest goes to the ring.
        let mut finished_by_ring = false;
        for _ in 0..50 {
            if !evict(&f, 4) {
                break;
            }
            let mut page = [0u8; 4096];
            // SAFETY: pread into a stack array we own, of its length.
            let n = unsafe { libc::pread(fd, page.as_mut_ptr().cast(), page.len(), 0) };
            assert_eq!(n, 4096);
            if cached(&f, 3) != [true, false, false] {
                continue;
            }
            let before = ring_ops();
            let (res, buf) = read(&f, 0, 3 * 4096).await;
            assert_eq!(res, Ok(3 * 4096), "inline page plus the ring's two");
            assert_eq!(&buf[..], &data[..3 * 4096]);
            match ring_ops() - before {
                1 => {
                    finished_by_ring = true;
                    break;
                }
                0 => continue,
                n => panic!("{n} ring ops for one read cached in part"),
            }
        }
        if !finished_by_ring {
            eprintln!("SKIP: every read cached in part was finished inline (or eviction failed)");
        }
    });
}

/// Opens `path` with `O_DIRECT`, or `None` where the filesystem has no direct I/O.
async fn open_direct(path: &Path) -> Option<File> {
    match OpenOptions::new().read(true).direct(true).open(path).await {
        Ok(f) => Some(f),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!("SKIP: no O_DIRECT here: {e}");
            None
        }
        Err(e) => panic!("open O_DIRECT: {e}"),
    }
}

#[test]
fn direct_files_never_go_inline() {
    let dir = TempDir::new("fast-path-direct");
    let path = dir.join("f");
    let data = Rng::new(15).bytes(4 * 4096);
    std::fs::write(&path, &data).expect("seed file");
    run(secs(30), async {
        let Some(f) = open_direct(&path).await else {
            return;
        };
        f.set_inline_io(true); // ignored on a direct file
                               // An O_DIRECT file adopted from std: the runtime reads its flags at the first read.
        let std_file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(&path)
            .expect("std open O_DIRECT");
        let adopted = File::from(std_file);
        // The pages are in the page cache (just written), which direct reads bypass anyway.
        for file in [&f, &adopted] {
            for i in 0..4u64 {
                let buf = f.alloc_aligned(4096);
                let before = ring_ops();
                let (res, buf) = file.read_at(buf, i * 4096).await;
                assert_eq!(res.expect("direct read"), 4096);
                assert_eq!(&buf[..], &data[i as usize * 4096..][..4096]);
                assert_eq!(ring_ops() - before, 1, "a direct read goes to the ring");
            }
        }
    });
}

/// Writes through a file adopted from std (inline writes allowed until the filesystem rejects
/// them: ext4 and tmpfs answer `EOPNOTSUPP`, and the ring writes) and through an opened one
/// (writes on the ring): the bytes land either way.
#[test]
fn writes_land_with_or_without_the_attempt() {
    let dir = TempDir::new("fast-path-writes");
    let data = Rng::new(16).bytes(3 * 4096 + 10);
    run(secs(30), async {
        for adopted in [true, false] {
            let path = dir.join(if adopted { "adopted" } else { "opened" });
            let f = if adopted {
                File::from(std::fs::File::create(&path).expect("std create"))
            } else {
                File::create(&path).await.expect("create")
            };
            for (i, chunk) in data.chunks(4096).enumerate() {
                let (res, _) = f.write_all_at(chunk.to_vec(), (i * 4096) as u64).await;
                res.expect("write_all_at");
            }
            f.sync_all().await.expect("fsync");
            assert_eq!(
                std::fs::read(&path).expect("read back"),
                data,
                "adopted {adopted}"
            );
        }
    });
}
