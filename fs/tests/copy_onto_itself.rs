//! `copy` onto the source itself (the same path, a hard link, a symlink to it) refuses with
//! `InvalidInput` and leaves the file intact, where a truncate-at-open copy empties it; an
//! existing longer destination is still truncated to the source's length.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs as fs;
use std::io::ErrorKind;

#[test]
fn copy_onto_itself_keeps_the_file() {
    let tmp = TempDir::new("copy-self");
    let src = tmp.join("src");
    let data = Rng::new(3).bytes(100_000);
    std::fs::write(&src, &data).expect("write");
    let hard = tmp.join("hard");
    std::fs::hard_link(&src, &hard).expect("hard link");
    let sym = tmp.join("sym");
    std::os::unix::fs::symlink(&src, &sym).expect("symlink");
    run(secs(30), async {
        for to in [&src, &hard, &sym] {
            let e = fs::copy(&src, to).await.expect_err("same file");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(
                std::fs::read(&src).expect("read") == data,
                "copy onto {} damaged the source",
                to.display()
            );
        }
        // A different, longer destination is replaced by exactly the source.
        let dst = tmp.join("dst");
        std::fs::write(&dst, vec![7u8; 300_000]).expect("write dst");
        assert_eq!(fs::copy(&src, &dst).await.expect("copy"), data.len() as u64);
        assert!(std::fs::read(&dst).expect("read dst") == data);
    });
}
