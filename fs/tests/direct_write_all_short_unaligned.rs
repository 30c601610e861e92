//! Direct I/O `write_all_at` after a short write whose count is not a multiple of the
//! alignment: the loop resumes at the last aligned boundary, and when the kernel accepts no
//! more it reports `WriteZero` instead of failing the alignment check of its own retry with
//! `InvalidInput`.
//!
//! The short write comes from `RLIMIT_FSIZE` (the kernel cuts a write at the limit) on tmpfs,
//! whose direct I/O takes any alignment while this crate keeps the checked one. The limit is
//! process-wide, so this file holds this one test.

mod common;

use common::{run, secs, Rng};
use ringbolt_fs::{IoBuf, OpenOptions};
use std::io::ErrorKind;
use std::path::PathBuf;

/// Restores the file size limit and the `SIGXFSZ` disposition on drop.
struct FsizeLimit {
    old: libc::rlimit,
    old_handler: libc::sighandler_t,
}

impl FsizeLimit {
    fn set(bytes: u64) -> FsizeLimit {
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut old) }, 0);
        // A write at or past the limit raises SIGXFSZ, which would kill the process.
        // SAFETY: SIG_IGN is a valid disposition for SIGXFSZ.
        let old_handler = unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        let new = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: old.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &new) }, 0);
        FsizeLimit { old, old_handler }
    }
}

impl Drop for FsizeLimit {
    fn drop(&mut self) {
        // SAFETY: restores the values read in `set`.
        unsafe {
            libc::setrlimit(libc::RLIMIT_FSIZE, &self.old);
            libc::signal(libc::SIGXFSZ, self.old_handler);
        }
    }
}

#[test]
fn write_all_after_a_short_unaligned_direct_write_is_write_zero() {
    let dir = PathBuf::from("/dev/shm");
    if !dir.is_dir() {
        eprintln!("SKIP: no /dev/shm tmpfs");
        return;
    }
    let path = dir.join(format!("ringbolt-direct-short-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    run(secs(60), async {
        let f = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .direct(true)
            .open(&path)
            .await
        {
            Ok(f) => f,
            Err(e) => {
                eprintln!("SKIP: tmpfs without O_DIRECT: {e}");
                return;
            }
        };
        let align = f.direct_alignment().expect("direct file").offset();
        eprintln!("checked direct alignment on tmpfs: {align}");
        if align < 2 {
            eprintln!("SKIP: every count is aligned here");
            return;
        }
        let data = Rng::new(11).bytes(2 * align);
        let mut buf = f.alloc_aligned(data.len());
        buf.extend_from_slice(&data);
        let limit = align + 100;
        let (res, buf) = {
            let _limit = FsizeLimit::set(limit as u64);
            f.write_all_at(buf, 0).await
        };
        let e = res.expect_err("the file size limit stops the write");
        assert_eq!(e.kind(), ErrorKind::WriteZero, "{e}");
        assert_eq!(buf.bytes_init(), data.len(), "the buffer comes back whole");
        f.close().await.expect("close");
        let written = std::fs::read(&path).expect("read back");
        assert_eq!(written.len(), limit, "the kernel wrote up to the limit");
        assert!(written[..] == data[..limit], "what was written is the data");
    });
    let _ = std::fs::remove_file(&path);
}
