//! Short reads at end of file and across holes; `read_exact_at` past the end is
//! `UnexpectedEof`.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs::{File, OpenOptions};
use std::io::ErrorKind;

#[test]
fn read_at_end_of_file_is_short_then_zero() {
    let dir = TempDir::new("short-eof");
    let path = dir.join("f");
    let data = Rng::new(7).bytes(10_000);
    std::fs::write(&path, &data).expect("seed file");
    run(secs(30), async {
        let f = File::open(&path).await.expect("open");
        let (res, buf) = f.read_at(Vec::with_capacity(8192), 4096).await;
        assert_eq!(res.expect("read"), 10_000 - 4096, "short read at the end");
        assert_eq!(&buf[..], &data[4096..]);

        let (res, buf) = f.read_at(vec![7u8; 100], 10_000).await;
        assert_eq!(res.expect("read at eof"), 0);
        // The buffer holds exactly what was read: nothing (no stale bytes stay visible).
        assert!(buf.is_empty(), "a read of 0 bytes leaves the Vec empty");
        assert_eq!(buf.capacity(), 100);
        let (res, _) = f.read_at(vec![0u8; 100], 1 << 40).await;
        assert_eq!(res.expect("read far past eof"), 0);

        // An empty buffer reads 0 bytes anywhere: that is not end of file.
        let (res, _) = f.read_at(Vec::new(), 0).await;
        assert_eq!(res.expect("empty read"), 0);

        let (res, _) = f.read_at(vec![0u8; 10], u64::MAX).await;
        assert_eq!(
            res.expect_err("offset beyond i64").kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn read_exact_at_past_end_is_unexpected_eof() {
    let dir = TempDir::new("short-exact");
    let path = dir.join("f");
    let data = Rng::new(8).bytes(10_000);
    std::fs::write(&path, &data).expect("seed file");
    run(secs(30), async {
        let f = File::open(&path).await.expect("open");
        let (res, buf) = f.read_exact_at(Vec::with_capacity(4096), 5904).await;
        res.expect("exact read ending at the end of the file");
        assert_eq!(&buf[..], &data[5904..10_000]);

        let (res, buf) = f.read_exact_at(Vec::with_capacity(4096), 8192).await;
        let err = res.expect_err("crosses the end");
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(
            &buf[..],
            &data[8192..],
            "the bytes before the end were read"
        );

        let (res, buf) = f.read_exact_at(vec![1u8; 16], 10_000).await;
        assert_eq!(
            res.expect_err("at the end").kind(),
            ErrorKind::UnexpectedEof
        );
        assert!(buf.is_empty(), "nothing was read, so the Vec holds nothing");
    });
}

#[test]
fn holes_in_sparse_files_read_as_zeros_without_short_reads() {
    let dir = TempDir::new("short-sparse");
    let path = dir.join("sparse");
    run(secs(30), async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .expect("create");
        // 8 MiB file with data only in its last 4 KiB.
        let len = 8u64 << 20;
        f.set_len(len).await.expect("set_len");
        let tail = Rng::new(9).bytes(4096);
        let (res, _) = f.write_all_at(tail.clone(), len - 4096).await;
        res.expect("write tail");
        let meta = f.metadata().await.expect("metadata");
        assert_eq!(meta.len(), len);
        assert!(
            meta.blocks() * 512 < len / 2,
            "file should be sparse: {} blocks",
            meta.blocks()
        );

        // A read inside the hole is full length and all zeros.
        let (res, buf) = f.read_at(vec![0xffu8; 65536], 1 << 20).await;
        assert_eq!(
            res.expect("hole read"),
            65536,
            "no short read inside a hole"
        );
        assert!(buf.iter().all(|&b| b == 0));

        // Across the hole/data boundary and then past the end: short only at the end.
        let (res, buf) = f.read_at(Vec::with_capacity(16384), len - 8192).await;
        assert_eq!(res.expect("boundary read"), 8192);
        assert!(buf[..4096].iter().all(|&b| b == 0));
        assert_eq!(&buf[4096..], &tail[..]);

        // Punching a hole into data turns it into zeros and keeps the length.
        f.punch_hole(len - 4096, 2048).await.expect("punch_hole");
        let (res, buf) = f.read_exact_at(Vec::with_capacity(4096), len - 4096).await;
        res.expect("read after punch");
        assert!(buf[..2048].iter().all(|&b| b == 0));
        assert_eq!(&buf[2048..], &tail[2048..]);
        assert_eq!(f.metadata().await.expect("metadata").len(), len);
    });
}
