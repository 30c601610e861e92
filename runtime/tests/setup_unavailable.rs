//! When io_uring cannot be set up, the error names the cause and the fix.
use ringbolt_runtime::{DriverKind, Runtime};

#[test]
fn eperm_names_seccomp_and_sysctl() {
    let err = Runtime::builder()
        .driver(DriverKind::IoUring)
        .inject_setup_error(libc::EPERM)
        .build()
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(msg.contains("seccomp"), "{msg}");
    assert!(msg.contains("kernel.io_uring_disabled"), "{msg}");
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<ringbolt_runtime::SetupError>());
    assert_eq!(inner.and_then(|e| e.raw_os_error()), Some(libc::EPERM));
}

#[test]
fn enosys_names_the_kernel() {
    let err = Runtime::builder()
        .driver(DriverKind::IoUring)
        .inject_setup_error(libc::ENOSYS)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    let msg = err.to_string();
    assert!(msg.contains("5.19") && msg.contains("gVisor"), "{msg}");
}

#[test]
fn enomem_names_memlock() {
    let err = Runtime::builder()
        .driver(DriverKind::IoUring)
        .inject_setup_error(libc::ENOMEM)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("RLIMIT_MEMLOCK"), "{err}");
}

#[test]
fn launch_reports_which_core_failed() {
    let err = Runtime::builder()
        .driver(DriverKind::IoUring)
        .cores(2)
        .pin_threads(false)
        .inject_setup_error(libc::EPERM)
        .launch(|_| async {})
        .unwrap_err();
    assert!(err.to_string().starts_with("core "), "{err}");
    assert!(err.to_string().contains("seccomp"), "{err}");
}

#[test]
fn debug_form_names_cause_and_fix_too() {
    // `fn main() -> io::Result<()>` prints the error with `Debug`.
    let err = Runtime::builder()
        .driver(DriverKind::IoUring)
        .inject_setup_error(libc::EPERM)
        .build()
        .unwrap_err();
    let dbg = format!("{err:?}");
    assert!(
        dbg.contains("seccomp") && dbg.contains("kernel.io_uring_disabled"),
        "{dbg}"
    );
}

#[test]
fn auto_falls_back_to_epoll_when_forbidden() {
    for errno in [libc::EPERM, libc::ENOSYS, libc::ENOMEM] {
        let rt = Runtime::builder()
            .driver(DriverKind::Auto)
            .inject_setup_error(errno)
            .build()
            .expect("Auto falls back to epoll");
        let (kind, features) = rt.block_on(async {
            (
                ringbolt_runtime::driver_kind(),
                ringbolt_runtime::ring_features(),
            )
        });
        assert_eq!(kind, DriverKind::Epoll);
        assert_eq!(features.driver, DriverKind::Epoll);
        assert_eq!(rt.stats().driver, DriverKind::Epoll);
    }
}

#[test]
fn auto_does_not_hide_other_setup_errors() {
    // EINVAL (every flag set refused) is not "io_uring forbidden": it stays an error.
    let err = Runtime::builder()
        .driver(DriverKind::Auto)
        .inject_setup_error(libc::EINVAL)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("5.19"), "{err}");
}
