//! `metadata` (statx), `set_len`, `allocate`, `sync_*` on an open file and on paths.

mod common;

use common::{run, secs, TempDir};
use ringbolt_fs::{self as fs, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime};

#[test]
fn metadata_matches_std() {
    let dir = TempDir::new("meta");
    let path = dir.join("f");
    std::fs::write(&path, vec![1u8; 12345]).expect("seed");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640))
        .expect("chmod");
    let std_meta = std::fs::metadata(&path).expect("std metadata");
    run(secs(30), async {
        let f = File::open(&path).await.expect("open");
        for m in [
            f.metadata().await.expect("fd metadata"),
            fs::metadata(&path).await.expect("path metadata"),
        ] {
            assert_eq!(m.len(), 12345);
            assert!(m.is_file() && !m.is_dir() && !m.is_symlink());
            assert!(m.file_type().is_file());
            assert_eq!(m.mode(), std_meta.mode());
            assert_eq!(
                std::os::unix::fs::PermissionsExt::mode(&m.permissions()),
                0o640
            );
            assert_eq!(m.ino(), std_meta.ino());
            assert_eq!(m.dev(), std_meta.dev());
            assert_eq!(m.nlink(), 1);
            assert_eq!(m.uid(), std_meta.uid());
            assert_eq!(m.gid(), std_meta.gid());
            assert_eq!(
                m.modified().expect("mtime"),
                std_meta.modified().expect("std mtime")
            );
            assert_eq!(
                m.accessed().expect("atime"),
                std_meta.accessed().expect("std atime")
            );
            match (m.created(), std_meta.created()) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(e), Err(_)) => {
                    assert_eq!(e.kind(), ErrorKind::Unsupported);
                    eprintln!("filesystem has no birth time: {e}");
                }
                (a, b) => panic!("created() disagrees with std: {a:?} vs {b:?}"),
            }
            let age = SystemTime::now()
                .duration_since(m.modified().expect("mtime"))
                .unwrap_or_default();
            assert!(age < Duration::from_secs(600), "mtime is recent");
        }
        let d = fs::metadata(dir.path()).await.expect("dir metadata");
        assert!(d.is_dir() && d.file_type().is_dir() && !d.is_file());
        let err = fs::metadata(dir.join("missing"))
            .await
            .expect_err("missing");
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn set_len_allocate_and_sync() {
    let dir = TempDir::new("setlen");
    let path = dir.join("f");
    run(secs(30), async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .expect("create");
        let (res, _) = f.write_all_at(vec![9u8; 10_000], 0).await;
        res.expect("write");
        f.set_len(4000).await.expect("shrink");
        assert_eq!(f.metadata().await.expect("meta").len(), 4000);
        f.set_len(20_000).await.expect("grow");
        assert_eq!(f.metadata().await.expect("meta").len(), 20_000);
        let (res, buf) = f.read_exact_at(Vec::with_capacity(20_000), 0).await;
        res.expect("read");
        assert!(buf[..4000].iter().all(|&b| b == 9));
        assert!(
            buf[4000..].iter().all(|&b| b == 0),
            "extension reads as zeros"
        );

        let before = f.metadata().await.expect("meta").blocks();
        f.allocate(0, 1 << 20).await.expect("allocate");
        let m = f.metadata().await.expect("meta");
        assert_eq!(m.len(), 1 << 20, "allocate past the end grows the file");
        assert!(
            m.blocks() >= 2048 && m.blocks() > before,
            "{} blocks",
            m.blocks()
        );

        f.sync_data().await.expect("sync_data");
        f.sync_all().await.expect("sync_all");

        let err = f.set_len(u64::MAX).await.expect_err("too long");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        f.close().await.expect("close");

        // Truncating a read-only file fails.
        let ro = File::open(&path).await.expect("open ro");
        let err = ro.set_len(0).await.expect_err("read-only");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        assert_eq!(std::fs::metadata(&path).expect("std meta").len(), 1 << 20);
    });
}
