//! Every path operation against real directories, with the error cases and their
//! `io::ErrorKind`, and proof that each is one op on the ring.

mod common;

use common::{run, secs, TempDir};
use ringbolt_fs::{self as fs, File, OpenOptions};
use std::future::Future;
use std::io::ErrorKind;

/// Awaits `fut` and checks that it submitted exactly `ops` ring operations.
async fn on_ring<T>(ops: u64, fut: impl Future<Output = T>) -> T {
    let before = ringbolt_runtime::stats().ops_submitted;
    let out = fut.await;
    let after = ringbolt_runtime::stats().ops_submitted;
    assert_eq!(after - before, ops, "ring ops submitted");
    out
}

#[test]
fn create_and_remove_directories() {
    let tmp = TempDir::new("paths-dirs");
    run(secs(30), async {
        let a = tmp.join("a");
        on_ring(1, fs::create_dir(&a)).await.expect("create_dir");
        assert!(std::fs::metadata(&a).expect("exists").is_dir());
        let e = fs::create_dir(&a).await.expect_err("twice");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = fs::create_dir(tmp.join("missing/child"))
            .await
            .expect_err("no parent");
        assert_eq!(e.kind(), ErrorKind::NotFound);

        let deep = tmp.join("x/y/z/w");
        fs::create_dir_all(&deep).await.expect("create_dir_all");
        assert!(std::fs::metadata(&deep).expect("deep exists").is_dir());
        fs::create_dir_all(&deep)
            .await
            .expect("create_dir_all on an existing dir");
        fs::create_dir_all(tmp.join("x/y/other"))
            .await
            .expect("partly existing");
        std::fs::write(tmp.join("plain"), b"f").expect("file");
        let e = fs::create_dir_all(tmp.join("plain"))
            .await
            .expect_err("a file");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = fs::create_dir_all(tmp.join("plain/sub"))
            .await
            .expect_err("under a file");
        assert_eq!(e.kind(), ErrorKind::NotADirectory);

        std::fs::write(a.join("f"), b"x").expect("file in a");
        let e = fs::remove_dir(&a).await.expect_err("not empty");
        assert_eq!(e.kind(), ErrorKind::DirectoryNotEmpty);
        let e = fs::remove_dir(a.join("f")).await.expect_err("a file");
        assert_eq!(e.kind(), ErrorKind::NotADirectory);
        std::fs::remove_file(a.join("f")).expect("cleanup");
        on_ring(1, fs::remove_dir(&a)).await.expect("remove_dir");
        assert!(!a.exists());
        let e = fs::remove_dir(&a).await.expect_err("gone");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn files_links_and_renames() {
    let tmp = TempDir::new("paths-files");
    run(secs(30), async {
        let f = tmp.join("f");
        fs::write(&f, b"content").await.expect("write");
        assert!(on_ring(1, fs::try_exists(&f)).await.expect("exists"));
        assert!(!fs::try_exists(tmp.join("nope")).await.expect("not exists"));

        // Hard links share the inode.
        let h = tmp.join("hard");
        on_ring(1, fs::hard_link(&f, &h)).await.expect("hard_link");
        let (mf, mh) = (
            fs::metadata(&f).await.expect("f"),
            fs::metadata(&h).await.expect("h"),
        );
        assert_eq!(mf.ino(), mh.ino());
        assert_eq!(mf.nlink(), 2);
        let e = fs::hard_link(&f, &h).await.expect_err("link exists");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = fs::hard_link(tmp.join("nope"), tmp.join("h2"))
            .await
            .expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);

        // Symlinks: metadata follows, symlink_metadata does not.
        let s = tmp.join("sym");
        on_ring(1, fs::symlink("f", &s)).await.expect("symlink");
        assert_eq!(
            std::fs::read_link(&s).expect("readlink"),
            std::path::Path::new("f")
        );
        assert!(fs::symlink_metadata(&s).await.expect("lstat").is_symlink());
        assert!(fs::metadata(&s).await.expect("stat").is_file());
        assert_eq!(fs::read(&s).await.expect("read via link"), b"content");
        let e = fs::symlink("f", &s).await.expect_err("exists");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let dangling = tmp.join("dangling");
        fs::symlink("does-not-exist", &dangling)
            .await
            .expect("dangling symlink");
        assert!(fs::symlink_metadata(&dangling)
            .await
            .expect("lstat")
            .is_symlink());
        let e = fs::metadata(&dangling).await.expect_err("target missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);

        // Rename replaces the target; the source is gone.
        let r = tmp.join("renamed");
        on_ring(1, fs::rename(&f, &r)).await.expect("rename");
        assert!(!f.exists());
        assert_eq!(std::fs::read(&r).expect("read renamed"), b"content");
        fs::write(&f, b"new").await.expect("write again");
        fs::rename(&f, &r).await.expect("rename over");
        assert_eq!(std::fs::read(&r).expect("read replaced"), b"new");
        let e = fs::rename(tmp.join("nope"), tmp.join("nope2"))
            .await
            .expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        std::fs::create_dir(tmp.join("full")).expect("dir");
        std::fs::write(tmp.join("full/x"), b"x").expect("file");
        std::fs::create_dir(tmp.join("empty")).expect("dir");
        let e = fs::rename(tmp.join("empty"), tmp.join("full"))
            .await
            .expect_err("non-empty");
        assert_eq!(e.kind(), ErrorKind::DirectoryNotEmpty);

        // Remove.
        on_ring(1, fs::remove_file(&r)).await.expect("remove_file");
        assert!(!r.exists());
        let e = fs::remove_file(&r).await.expect_err("gone");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = fs::remove_file(tmp.join("empty")).await.expect_err("a dir");
        assert_eq!(e.kind(), ErrorKind::IsADirectory);
        fs::remove_file(&s).await.expect("remove symlink");
        assert!(h.exists(), "removing a symlink leaves its target");
    });
}

#[test]
fn open_errors_have_the_right_kind() {
    let tmp = TempDir::new("paths-open");
    run(secs(30), async {
        let f = tmp.join("f");
        let e = File::open(&f).await.expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        File::create_new(&f).await.expect("create_new");
        let e = File::create_new(&f).await.expect_err("create_new twice");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&f)
            .await
            .expect_err("create_new on an existing file");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = File::open(tmp.join("f/under-a-file"))
            .await
            .expect_err("notdir");
        assert_eq!(e.kind(), ErrorKind::NotADirectory);
        let e = File::create(tmp.path()).await.expect_err("a directory");
        assert_eq!(e.kind(), ErrorKind::IsADirectory);
        let e = File::open("nul\0byte").await.expect_err("nul");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = fs::remove_file("nul\0byte").await.expect_err("nul");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    });
}
