//! `read_dir` lists every entry (more than one helper batch) with the right kinds.

mod common;

use common::{run, secs, TempDir};
use ringbolt_fs as fs;
use std::collections::BTreeMap;
use std::io::ErrorKind;

#[test]
fn lists_every_entry_with_its_kind() {
    let tmp = TempDir::new("readdir");
    let mut expected = BTreeMap::new();
    for i in 0..600 {
        let name = format!("file-{i:04}");
        std::fs::write(tmp.join(&name), i.to_string()).expect("file");
        expected.insert(name, "file");
    }
    std::fs::create_dir(tmp.join("sub")).expect("dir");
    expected.insert("sub".to_string(), "dir");
    std::os::unix::fs::symlink("file-0001", tmp.join("link")).expect("symlink");
    expected.insert("link".to_string(), "symlink");

    run(secs(60), async {
        let mut dir = fs::read_dir(tmp.path()).await.expect("read_dir");
        let mut seen = BTreeMap::new();
        for _ in 0..10_000 {
            let Some(entry) = dir.next_entry().await.expect("next_entry") else {
                break;
            };
            assert_eq!(
                entry.path(),
                tmp.join(entry.file_name().to_str().expect("utf-8"))
            );
            let t = entry.file_type().await.expect("file_type");
            let kind = if t.is_file() {
                "file"
            } else if t.is_dir() {
                "dir"
            } else if t.is_symlink() {
                "symlink"
            } else {
                "other"
            };
            let meta = entry.metadata().await.expect("metadata");
            assert_eq!(meta.file_type(), t, "metadata does not follow symlinks");
            assert_eq!(meta.ino(), entry.ino());
            let name = entry.file_name().into_string().expect("utf-8");
            assert!(seen.insert(name, kind).is_none(), "entry listed twice");
        }
        assert!(dir.next_entry().await.expect("after end").is_none());
        assert_eq!(seen, expected);

        let e = fs::read_dir(tmp.join("missing"))
            .await
            .expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = fs::read_dir(tmp.join("file-0000"))
            .await
            .expect_err("a file");
        assert_eq!(e.kind(), ErrorKind::NotADirectory);
    });
}
