//! A position past `i64::MAX` is refused with `InvalidInput` before anything runs: `u64::MAX`
//! would otherwise mean "the current position" to the ring's read and write, and the kernel
//! takes a signed offset. The buffer comes back, and neither the ring nor an inline attempt
//! sees the request.

mod common;

use common::{run, secs, TempDir};
use ringbolt_fs::OpenOptions;
use std::io::ErrorKind;

#[test]
fn positions_past_i64_max_are_invalid_input_and_never_submitted() {
    let tmp = TempDir::new("offset-out-of-range");
    let path = tmp.join("f");
    std::fs::write(&path, vec![7u8; 8192]).expect("write the file");
    run(secs(30), async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .expect("open");
        let submitted = ringbolt_runtime::stats().ops_submitted;
        for pos in [u64::MAX, i64::MAX as u64 + 1] {
            let (res, buf) = f.read_at(Vec::with_capacity(4096), pos).await;
            let e = res.expect_err("read past i64::MAX");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "read at {pos}: {e}");
            assert!(e.to_string().contains("i64::MAX"), "{e}");
            assert_eq!(buf.capacity(), 4096, "the buffer comes back");
            assert!(buf.is_empty(), "nothing was read into it");

            let (res, buf) = f.write_at(vec![1u8; 100], pos).await;
            let e = res.expect_err("write past i64::MAX");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "write at {pos}: {e}");
            assert_eq!(buf, vec![1u8; 100], "the buffer comes back");
        }
        assert_eq!(
            ringbolt_runtime::stats().ops_submitted,
            submitted,
            "refused requests must not reach the ring"
        );
        // The largest valid position still works (end of file: nothing to read).
        let (res, _) = f
            .read_at(Vec::with_capacity(4096), i64::MAX as u64 - 4096)
            .await;
        assert_eq!(res.expect("read at a valid position"), 0);
        f.close().await.expect("close");
    });
    assert_eq!(std::fs::read(&path).expect("read back"), vec![7u8; 8192]);
}
