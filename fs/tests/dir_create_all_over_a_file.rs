//! `create_dir_all` over existing files reports what its docs say, as std does:
//! `NotADirectory` when a parent is a file, `AlreadyExists` when the path itself is one.

mod common;

use common::{run, secs, TempDir};
use ringbolt_fs as fs;
use std::io::ErrorKind;

#[test]
fn create_dir_all_over_a_file_matches_std() {
    let tmp = TempDir::new("mkdir-all-file");
    let file = tmp.join("file");
    std::fs::write(&file, b"x").expect("create file");
    let below = file.join("a/b");
    let std_below = std::fs::create_dir_all(&below).expect_err("std: parent is a file");
    let std_same = std::fs::create_dir_all(&file).expect_err("std: path is a file");
    run(secs(30), async {
        let e = fs::create_dir_all(&below)
            .await
            .expect_err("parent is a file");
        assert_eq!(e.kind(), ErrorKind::NotADirectory, "{e}");
        assert_eq!(e.kind(), std_below.kind());
        let e = fs::create_dir_all(&file).await.expect_err("path is a file");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
        assert_eq!(e.kind(), std_same.kind());
        // And over directories it succeeds, existing or not.
        fs::create_dir_all(tmp.join("d/e/f")).await.expect("fresh");
        fs::create_dir_all(tmp.join("d/e")).await.expect("existing");
    });
}
