//! Direct I/O: aligned round trip where the filesystem has `O_DIRECT`; misaligned requests
//! fail with `InvalidInput` naming the alignment, before reaching the kernel.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs::{AlignedBuf, File, IoBuf, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

/// Opens `path` for direct I/O, or `None` (with the reason printed) where the filesystem has
/// no `O_DIRECT`.
async fn open_direct(path: &Path) -> Option<File> {
    let res = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .direct(true)
        .open(path)
        .await;
    match res {
        Ok(f) => Some(f),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!("SKIP: {} does not support O_DIRECT: {e}", path.display());
            None
        }
        Err(e) => panic!("open O_DIRECT: {e}"),
    }
}

#[test]
fn aligned_round_trip() {
    let tmp = TempDir::new("direct");
    let path = tmp.join("f");
    run(secs(60), async {
        let Some(f) = open_direct(&path).await else {
            return;
        };
        let align = f
            .direct_alignment()
            .expect("direct file knows its alignment");
        eprintln!("direct alignment: {align:?}");
        assert!(align.memory().is_power_of_two() && align.offset().is_power_of_two());

        let len = 256 << 10;
        let data = Rng::new(42).bytes(len);
        let mut buf = f.alloc_aligned(len);
        assert_eq!(buf.as_ptr() as usize % align.memory(), 0);
        buf.extend_from_slice(&data);
        for pos in [0u64, 1 << 20] {
            let (res, b) = f.write_all_at(buf, pos).await;
            res.expect("direct write");
            buf = b;
        }
        f.sync_data().await.expect("sync_data");
        assert_eq!(
            f.metadata().await.expect("meta").len(),
            (1 << 20) + len as u64
        );

        for pos in [0u64, 1 << 20] {
            let (res, back) = f.read_exact_at(f.alloc_aligned(len), pos).await;
            res.expect("direct read");
            assert!(back[..] == data[..], "data at {pos} differs");
        }
        // The hole between the two writes reads as zeros, through the device path too.
        let (res, hole) = f.read_exact_at(f.alloc_aligned(64 << 10), 512 << 10).await;
        res.expect("hole read");
        assert!(hole.iter().all(|&b| b == 0));
        // A short read at the end of the file is fine when aligned.
        let end = (1 << 20) + len as u64;
        let (res, _) = f.read_at(f.alloc_aligned(len), end - 4096).await;
        assert_eq!(res.expect("read at end"), 4096);
        f.close().await.expect("close");
        // What went through O_DIRECT is what a buffered reader sees.
        let all = std::fs::read(&path).expect("std read");
        assert!(all[..len] == data[..] && all[1 << 20..] == data[..]);
    });
}

#[test]
fn misaligned_requests_are_invalid_input_and_never_submitted() {
    let tmp = TempDir::new("direct-misaligned");
    let path = tmp.join("f");
    run(secs(30), async {
        let Some(f) = open_direct(&path).await else {
            return;
        };
        let align = f.direct_alignment().expect("alignment");
        let mut buf = f.alloc_aligned(2 * 4096);
        buf.set_len(4096);
        let (res, buf) = f.write_all_at(buf, 0).await;
        res.expect("aligned write");

        let submitted = ringbolt_runtime::stats().ops_submitted;
        let check = |e: std::io::Error, what: &str| {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&align.offset().to_string()) && msg.contains("align"),
                "{what}: message should name the alignment: {msg}"
            );
        };
        // Misaligned offset, read and write.
        let (res, buf) = f.read_at(buf, 1).await;
        check(res.expect_err("offset 1"), "read at offset 1");
        let (res, buf) = f.write_at(buf, 100).await;
        check(res.expect_err("offset 100"), "write at offset 100");
        // Misaligned length.
        let mut buf = buf;
        buf.set_len(1000);
        let (res, mut buf) = f.write_at(buf, 0).await;
        check(res.expect_err("length 1000"), "write of 1000 bytes");
        // Misaligned address (a slice starting one byte in), when the device needs any.
        if align.memory() > 1 {
            buf.set_len(4097);
            let (res, slice) = f.write_at(buf.slice(1..4097), 0).await;
            check(res.expect_err("address +1"), "write from address +1");
            buf = slice.into_inner();
        }
        // A Vec-backed read of an odd size.
        let (res, v) = f.read_at(Vec::with_capacity(1000), 0).await;
        check(res.expect_err("vec of 1000"), "read into 1000 bytes");
        assert_eq!(v.capacity(), 1000, "the buffer comes back");
        let (res, _) = f
            .readv_at(
                vec![AlignedBuf::new(4096, 4096), AlignedBuf::new(100, 4096)],
                0,
            )
            .await;
        check(res.expect_err("readv with an odd buffer"), "readv");
        assert_eq!(
            ringbolt_runtime::stats().ops_submitted,
            submitted,
            "misaligned requests must not reach the kernel"
        );
        drop(buf);
        f.close().await.expect("close");
    });
}
