//! Direct opens land in the ring's fixed-file table (no process fd), a full table fails with
//! an error naming `Builder::direct_files`, `DirectFd::close` frees the slot for the next
//! open, and a direct descriptor is refused on a ring that is not its own.

mod common;

use common::{open_fds, watchdog};
use ringbolt_runtime::ops::fs::OpenAtDirect;
use ringbolt_runtime::ops::net::Send;
use ringbolt_runtime::Runtime;
use std::ffi::CString;
use std::sync::Mutex;
use std::time::Duration;

/// The tests count the process's fds: they run one at a time (a runtime the other test builds
/// meanwhile opens its own).
static SERIAL: Mutex<()> = Mutex::new(());

fn path() -> CString {
    CString::new(
        std::env::current_exe()
            .unwrap()
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap()
}

#[test]
fn direct_open_fills_slots_and_close_frees_them() {
    if common::uring_only("direct descriptors") {
        return;
    }
    let _wd = watchdog("direct_open", Duration::from_secs(30));
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder().direct_files(2).build().unwrap();
    rt.block_on(async {
        let fds = open_fds();
        let a = OpenAtDirect::op(path(), libc::O_RDONLY, 0).await.unwrap();
        let b = OpenAtDirect::op(path(), libc::O_RDONLY, 0).await.unwrap();
        assert_eq!(open_fds(), fds, "direct opens create no fd");
        assert_ne!(a.index(), b.index());
        let err = OpenAtDirect::op(path(), libc::O_RDONLY, 0)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Builder::direct_files"), "{err}");
        let freed = a.index();
        // A clone (as an op in flight would hold) delays the close until it is gone.
        let held = b.clone();
        let closing = ringbolt_runtime::spawn(b.close());
        ringbolt_runtime::time::sleep(Duration::from_millis(20)).await;
        assert!(!closing.is_finished(), "close waits for the other holder");
        drop(held);
        closing.await.unwrap().unwrap();
        a.close().await.unwrap();
        let c = OpenAtDirect::op(path(), libc::O_RDONLY, 0).await.unwrap();
        let d = OpenAtDirect::op(path(), libc::O_RDONLY, 0).await.unwrap();
        assert!(c.index() == freed || d.index() == freed);
        // Dropped handles free their slots too.
        drop((c, d));
        let e = OpenAtDirect::op(path(), libc::O_RDONLY, 0).await.unwrap();
        let f = OpenAtDirect::op(path(), libc::O_RDONLY, 0).await.unwrap();
        drop((e, f));
    });
}

#[test]
fn direct_fd_is_refused_on_another_ring() {
    if common::uring_only("direct descriptors") {
        return;
    }
    let _wd = watchdog("direct_foreign", Duration::from_secs(30));
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let home = Runtime::builder().direct_files(4).build().unwrap();
    let fd = home.block_on(async { OpenAtDirect::op(path(), libc::O_RDONLY, 0).await.unwrap() });
    let other = Runtime::builder().direct_files(4).build().unwrap();
    let (res, _) = other.block_on(Send::op(&fd, vec![1u8], 0));
    assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    drop(fd);
    drop(home);
}
