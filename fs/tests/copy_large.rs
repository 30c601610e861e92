//! `fs::copy`: a 256 MiB file comes out byte-identical, with many ops in flight; permissions
//! follow; odd sources.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs as fs;
use std::cell::Cell;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::rc::Rc;

#[test]
fn copy_of_256_mib_is_byte_identical() {
    let tmp = TempDir::new("copy");
    let (src, dst) = (tmp.join("src"), tmp.join("dst"));
    let len = 256usize << 20;
    {
        let mut rng = Rng::new(11);
        let mut chunk = vec![0u8; 8 << 20];
        let mut f = std::fs::File::create(&src).expect("create src");
        for _ in 0..len / chunk.len() {
            rng.fill(&mut chunk);
            std::io::Write::write_all(&mut f, &chunk).expect("write src");
        }
        // An odd tail so the last block is partial.
        std::io::Write::write_all(&mut f, b"tail").expect("tail");
    }
    std::fs::set_permissions(&src, PermissionsExt::from_mode(0o640)).expect("chmod");

    let copied = run(secs(120), async {
        let done = Rc::new(Cell::new(false));
        let peak = Rc::new(Cell::new(0usize));
        let sampler = {
            let (done, peak) = (done.clone(), peak.clone());
            ringbolt_runtime::spawn(async move {
                for _ in 0..100_000_000u64 {
                    if done.get() {
                        break;
                    }
                    peak.set(peak.get().max(ringbolt_runtime::stats().ops_in_flight));
                    ringbolt_runtime::task::yield_now().await;
                }
            })
        };
        let n = fs::copy(&src, &dst).await.expect("copy");
        done.set(true);
        sampler.await.expect("sampler");
        eprintln!("copy: peak ops in flight {}", peak.get());
        assert!(
            peak.get() >= 4,
            "copy should keep many ops in flight, saw {}",
            peak.get()
        );
        n
    });
    assert_eq!(copied, len as u64 + 4);

    let (mut a, mut b) = (
        std::fs::File::open(&src).expect("src"),
        std::fs::File::open(&dst).expect("dst"),
    );
    let (mut ba, mut bb) = (vec![0u8; 4 << 20], vec![0u8; 4 << 20]);
    let mut offset = 0usize;
    loop {
        let na = a.read(&mut ba).expect("read src");
        b.read_exact(&mut bb[..na]).expect("read dst");
        assert!(ba[..na] == bb[..na], "difference within block at {offset}");
        offset += na;
        if na == 0 {
            break;
        }
    }
    assert_eq!(b.read(&mut bb).expect("dst end"), 0, "dst is not longer");
    let mode = std::fs::metadata(&dst)
        .expect("dst meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
}

#[test]
fn copy_edge_cases() {
    let tmp = TempDir::new("copy-edges");
    run(secs(30), async {
        // Permission bits the umask would drop are restored.
        let src = tmp.join("open");
        std::fs::write(&src, b"x").expect("src");
        std::fs::set_permissions(&src, PermissionsExt::from_mode(0o666)).expect("chmod");
        let dst = tmp.join("open-copy");
        assert_eq!(fs::copy(&src, &dst).await.expect("copy"), 1);
        let mode = std::fs::metadata(&dst).expect("meta").permissions().mode();
        assert_eq!(mode & 0o7777, 0o666);

        // Empty files, overwriting a longer destination.
        let empty = tmp.join("empty");
        std::fs::write(&empty, b"").expect("empty");
        std::fs::write(&dst, vec![1u8; 10_000]).expect("longer dst");
        assert_eq!(fs::copy(&empty, &dst).await.expect("copy empty"), 0);
        assert_eq!(std::fs::metadata(&dst).expect("meta").len(), 0);

        // Files that report length 0 are copied to their end.
        let n = fs::copy("/proc/self/status", tmp.join("status"))
            .await
            .expect("procfs");
        assert!(n > 0);
        assert!(std::fs::read_to_string(tmp.join("status"))
            .expect("read")
            .contains("Pid:"));

        let e = fs::copy(tmp.join("missing"), tmp.join("x"))
            .await
            .expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = fs::copy(tmp.path(), tmp.join("x"))
            .await
            .expect_err("a directory");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    });
}
