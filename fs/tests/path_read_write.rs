//! `fs::read`, `fs::read_to_string` and `fs::write`.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs as fs;
use std::io::ErrorKind;

#[test]
fn write_then_read_whole_files() {
    let tmp = TempDir::new("readwrite");
    run(secs(30), async {
        let p = tmp.join("f");
        for len in [0usize, 1, 4095, 4096, 4097, 3 << 20] {
            let data = Rng::new(len as u64 + 1).bytes(len);
            fs::write(&p, data.clone()).await.expect("write");
            assert_eq!(std::fs::read(&p).expect("std read"), data, "len {len}");
            assert_eq!(fs::read(&p).await.expect("read"), data, "len {len}");
        }
        // write truncates a longer file.
        fs::write(&p, "short").await.expect("write str");
        assert_eq!(fs::read_to_string(&p).await.expect("string"), "short");
        fs::write(&p, &b"\xff\xfe"[..]).await.expect("write bytes");
        let e = fs::read_to_string(&p).await.expect_err("not utf-8");
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        let e = fs::read(tmp.join("missing")).await.expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        // Files whose size statx reports as 0 are still read to the end.
        let status = fs::read_to_string("/proc/self/status")
            .await
            .expect("procfs");
        assert!(status.contains("Pid:"), "{status}");
    });
}
