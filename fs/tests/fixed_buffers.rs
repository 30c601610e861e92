//! Registered buffers: READ_FIXED / WRITE_FIXED round trip, the pool's accounting and
//! waiting, one table per ring, and the error when RLIMIT_MEMLOCK is too small.

mod common;

use common::{run, secs, Rng, TempDir};
use ringbolt_fs::{FixedBufPool, IoBuf, OpenOptions};
use std::io::ErrorKind;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn fixed_round_trip_and_pool_accounting() {
    let tmp = TempDir::new("fixed");
    let path = tmp.join("f");
    run(secs(30), async {
        let pool = FixedBufPool::new(4, 64 << 10).expect("register buffers");
        assert_eq!(
            (pool.count(), pool.buf_size(), pool.available()),
            (4, 64 << 10, 4)
        );
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .expect("create");

        let data = Rng::new(3).bytes(64 << 10);
        let mut w = pool.try_get().expect("free buffer");
        assert_eq!(
            w.as_ptr() as usize % 4096,
            0,
            "pool buffers are page aligned"
        );
        w.extend_from_slice(&data);
        let (res, w) = f.write_fixed_at(w, 8192).await;
        assert_eq!(res.expect("write_fixed"), data.len());
        assert_eq!(pool.available(), 3);

        let (res, r) = f.read_fixed_at(pool.get().await, 8192).await;
        assert_eq!(res.expect("read_fixed"), data.len());
        assert!(r[..] == data[..], "read back what was written");
        assert_ne!(r.index(), w.index());

        // A slice of a fixed buffer is still fixed: read into its second half.
        let (res, s) = f.read_fixed_at(r.slice(0..4096), 8192 + 4096).await;
        assert_eq!(res.expect("read_fixed into a slice"), 4096);
        assert!(s[..] == data[4096..8192]);
        drop((s, w));
        assert_eq!(pool.available(), 4, "buffers go back on drop");
        assert_eq!(std::fs::read(&path).expect("std read")[8192..], data[..]);

        // Exhausted: get() waits until a buffer is given back.
        let held: Vec<_> = (0..4).map(|_| pool.try_get().expect("free")).collect();
        assert!(pool.try_get().is_none());
        let held = Rc::new(std::cell::RefCell::new(held));
        let h2 = held.clone();
        ringbolt_runtime::spawn(async move {
            ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
            h2.borrow_mut().pop();
        });
        let got = ringbolt_runtime::time::timeout(secs(5), pool.get())
            .await
            .expect("get() is woken when a buffer returns");
        assert_eq!(got.len(), 0);
        drop(got);
        held.borrow_mut().clear();

        // One table per ring: a second pool fails until the first is gone.
        let e = FixedBufPool::new(1, 4096).expect_err("second pool");
        assert_eq!(e.kind(), ErrorKind::ResourceBusy, "{e}");
        drop(pool);
        let again = FixedBufPool::new(2, 4096).expect("the first pool unregistered on drop");
        drop(again);

        assert_eq!(
            FixedBufPool::new(0, 4096).expect_err("zero").kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            FixedBufPool::new(1, 0).expect_err("zero size").kind(),
            ErrorKind::InvalidInput
        );
    });
}

const CHILD_ENV: &str = "RINGBOLT_FS_MEMLOCK_CHILD";

/// Runs in a child without CAP_IPC_LOCK and with a 64 KiB RLIMIT_MEMLOCK.
#[test]
fn memlock_child() {
    if common::uring_only("RLIMIT_MEMLOCK accounting of registered buffers") {
        return;
    }
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    run(secs(30), async {
        let e = FixedBufPool::new(16, 1 << 20).expect_err("16 MiB over a 64 KiB limit");
        assert_eq!(e.kind(), ErrorKind::OutOfMemory, "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("RLIMIT_MEMLOCK") && msg.contains("65536"),
            "{msg}"
        );
        println!("MEMLOCK-ERROR-OK: {msg}");
    });
}

#[test]
fn too_small_memlock_limit_gives_a_clear_error() {
    if common::uring_only("RLIMIT_MEMLOCK accounting of registered buffers") {
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("prlimit")
        .arg("--memlock=65536:65536")
        .args([
            "setpriv",
            "--inh-caps=-ipc_lock",
            "--bounding-set=-ipc_lock",
            "--",
        ])
        .arg(exe)
        .args([
            "memlock_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIP: cannot run prlimit/setpriv to lower RLIMIT_MEMLOCK: {e}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("setpriv:") {
        eprintln!("SKIP: setpriv could not drop CAP_IPC_LOCK: {stderr}");
        return;
    }
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("MEMLOCK-ERROR-OK"),
        "child did not run:\n{stdout}\n{stderr}"
    );
}
