//! The fallback a Docker user gets: a process whose io_uring syscalls are denied by seccomp
//! (`io_uring_setup`, `io_uring_enter`, `io_uring_register` fail with `EPERM`, as under Docker's
//! default profile) still starts with `Runtime::new()`, on the epoll driver, says so once on
//! stderr, and serves real sockets and files; forcing io_uring there fails with an error whose
//! `Display` and `Debug` both name the cause and the fix.
//!
//! A seccomp filter cannot be removed once installed, so each case runs in a child process: the
//! parent test re-executes this test binary (`--exact <child test> --nocapture`) with
//! [`CHILD_ENV`] set; the child test installs the filter and does the work; the parent checks the
//! child's exit status, stdout and stderr. Without [`CHILD_ENV`] the child tests return at once.
//! The parent kills a child that runs longer than [`CHILD_LIMIT`].
//!
//! The hand-written BPF program knows the syscall ABI of x86_64 and aarch64 only.
#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ringbolt::net::{TcpListener, TcpStream};
use ringbolt::DriverKind;

/// Set (to the child test's name) in the environment of a child process.
const CHILD_ENV: &str = "RINGBOLT_TEST_SECCOMP_CHILD";
/// A child still running after this is killed and the parent test fails.
const CHILD_LIMIT: Duration = Duration::from_secs(60);
/// The child's own deadline for its async work (well inside [`CHILD_LIMIT`]).
const WORK_LIMIT: Duration = Duration::from_secs(30);
/// What the runtime prints (once per process) when it falls back to epoll.
const NOTICE: &str = "ringbolt: io_uring unavailable";
/// Starts each `key: value` line the child reports on stdout.
const REPORT_PREFIX: &str = "child> ";

// ---------------------------------------------------------------------------------------------
// The seccomp filter
// ---------------------------------------------------------------------------------------------

/// `AUDIT_ARCH_*` of this target (linux/audit.h): the filter denies io_uring only for syscalls
/// made with this ABI.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64 = EM_X86_64 | 64BIT | LE
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64 = EM_AARCH64 | 64BIT | LE

/// Offsets in `struct seccomp_data` (linux/seccomp.h): `int nr; __u32 arch; ...`.
const SECCOMP_DATA_NR: u32 = 0;
const SECCOMP_DATA_ARCH: u32 = 4;

const fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

const fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// The classic BPF program: on this arch, `io_uring_setup`/`_enter`/`_register` return `EPERM`;
/// every other syscall (and every syscall of another ABI) is allowed.
fn deny_io_uring_program() -> Vec<libc::sock_filter> {
    let errno = libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA);
    // Jump offsets count instructions after the jump itself.
    vec![
        /* 0 */
        stmt(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            SECCOMP_DATA_ARCH,
        ),
        /* 1 */
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            AUDIT_ARCH,
            0,
            4,
        ), // else 6
        /* 2 */ stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, SECCOMP_DATA_NR),
        /* 3 */
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            libc::SYS_io_uring_setup as u32,
            3, // 7
            0,
        ),
        /* 4 */
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            libc::SYS_io_uring_enter as u32,
            2, // 7
            0,
        ),
        /* 5 */
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            libc::SYS_io_uring_register as u32,
            1, // 7
            0,
        ),
        /* 6 */ stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        /* 7 */ stmt(libc::BPF_RET | libc::BPF_K, errno),
    ]
}

/// Installs the filter on the calling thread (threads it creates later inherit it), then checks
/// that a raw `io_uring_setup` now fails with `EPERM`.
fn install_filter() {
    let mut program = deny_io_uring_program();
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only; it cannot touch our memory.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(
        rc,
        0,
        "PR_SET_NO_NEW_PRIVS: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fprog` points at `program`, a live array of `fprog.len` instructions; the kernel
    // copies the program during the call and keeps no pointer into our memory.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    assert_eq!(rc, 0, "PR_SET_SECCOMP: {}", std::io::Error::last_os_error());
    // io_uring_params is 120 bytes; 128 zeroed bytes are enough for the kernel to read.
    let mut params = [0u64; 16];
    // SAFETY: io_uring_setup reads and writes at most sizeof(io_uring_params) = 120 bytes at the
    // pointer, which points at 128 bytes we own; if the filter let it through (the assertion
    // below then fails) the returned ring fd is closed right away.
    let rc = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    let err = std::io::Error::last_os_error();
    if rc >= 0 {
        // SAFETY: `rc` is the ring fd io_uring_setup just returned to us and nothing else owns.
        unsafe { libc::close(rc as libc::c_int) };
    }
    assert!(
        rc == -1 && err.raw_os_error() == Some(libc::EPERM),
        "the seccomp filter did not deny io_uring_setup: rc {rc}, {err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------------------------

struct ChildOutput {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs the child test `name` of this binary with `env` set (and `RINGBOLT_DRIVER` cleared
/// unless `env` sets it), killing it after [`CHILD_LIMIT`].
fn run_child(name: &str, env: &[(&str, &str)]) -> ChildOutput {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .env_remove("RINGBOLT_DRIVER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the child test process");
    let mut out = child.stdout.take().expect("child stdout");
    let mut err = child.stderr.take().expect("child stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > CHILD_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let status = status.unwrap_or_else(|| {
        panic!("child {name} still running after {CHILD_LIMIT:?}; killed\nstdout:\n{stdout}\nstderr:\n{stderr}")
    });
    ChildOutput {
        success: status.success(),
        stdout,
        stderr,
    }
}

/// The value the child reported for `key` (see [`report`]). libtest prints `test NAME ... `
/// before a test's own output on the same line, so the marker is searched anywhere in a line.
fn reported<'a>(stdout: &'a str, key: &str) -> Option<&'a str> {
    let marker = format!("{REPORT_PREFIX}{key}: ");
    stdout
        .lines()
        .find_map(|l| l.find(&marker).map(|at| &l[at + marker.len()..]))
}

/// Whether `text` names why io_uring is unavailable here (a seccomp filter / EPERM).
fn names_cause(text: &str) -> bool {
    let t = text.to_lowercase();
    t.contains("seccomp") || t.contains("permission") || t.contains("forbidden")
}

/// Whether `text` says how to enable io_uring.
fn names_fix(text: &str) -> bool {
    let t = text.to_lowercase();
    t.contains("profile") || t.contains("io_uring_disabled") || t.contains("unconfined")
}

#[test]
fn default_runtime_falls_back_to_epoll_under_seccomp() {
    let out = run_child("child_fallback_serves_echo_and_files", &[]);
    assert!(
        out.success,
        "child failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        reported(&out.stdout, "driver"),
        Some("Epoll"),
        "stdout:\n{}",
        out.stdout
    );
    assert!(
        reported(&out.stdout, "echo verified bytes").is_some_and(|n| n != "0"),
        "stdout:\n{}",
        out.stdout
    );
    assert_eq!(reported(&out.stdout, "file"), Some("ok"));
    // Three runtimes started in the child (two in turn on one thread, one on another thread),
    // and the notice appears exactly once.
    assert_eq!(reported(&out.stdout, "runtimes started"), Some("3"));
    if cfg!(feature = "tracing") {
        // With `tracing` the notice is a tracing event, and this child has no subscriber.
        return;
    }
    let notices: Vec<&str> = out.stderr.lines().filter(|l| l.contains(NOTICE)).collect();
    assert_eq!(
        notices.len(),
        1,
        "expected the fallback notice exactly once on stderr:\n{}",
        out.stderr
    );
    let notice = notices[0];
    assert!(
        notice.starts_with(NOTICE),
        "the notice starts with {NOTICE:?}: {notice}"
    );
    assert!(names_cause(notice), "the notice names the cause: {notice}");
    assert!(
        names_fix(notice),
        "the notice says how to enable io_uring: {notice}"
    );
}

#[test]
fn forced_io_uring_under_seccomp_fails_with_cause_and_fix() {
    let out = run_child("child_forced_uring_fails", &[("RINGBOLT_DRIVER", "uring")]);
    assert!(
        out.success,
        "child failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    for key in [
        "env display",
        "env debug",
        "builder display",
        "builder debug",
    ] {
        let text = reported(&out.stdout, key)
            .unwrap_or_else(|| panic!("no {key:?} line in the child's stdout:\n{}", out.stdout));
        assert!(names_cause(text), "{key} does not name the cause: {text}");
        assert!(names_fix(text), "{key} does not name the fix: {text}");
    }
    assert_eq!(
        reported(&out.stdout, "env kind"),
        Some("PermissionDenied"),
        "stdout:\n{}",
        out.stdout
    );
    // `Builder::driver(Epoll)` wins over RINGBOLT_DRIVER=uring.
    assert_eq!(reported(&out.stdout, "builder epoll driver"), Some("Epoll"));
    assert!(
        !out.stderr.contains(NOTICE),
        "a forced driver is not a fallback: no notice expected\n{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Child side (each returns at once unless this process is the child started for it)
// ---------------------------------------------------------------------------------------------

/// Whether this process is the child started for the test `name`.
fn is_child(name: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == name)
}

/// Patterned bytes: neither constant nor periodic with a power-of-two period.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    (0..len as u64)
        .map(|i| ((i.wrapping_mul(31) ^ seed.wrapping_mul(0x9E37)) % 251) as u8)
        .collect()
}

/// Echo server on 127.0.0.1 and a client, both on this runtime: chunks of several sizes, each
/// written then read back and compared byte for byte; then a half close ends the server's loop
/// and the client sees EOF. Returns the bytes verified.
async fn verified_echo() -> std::io::Result<usize> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = ringbolt::spawn(async move {
        let (stream, _) = listener.accept().await?;
        let mut buf = Vec::with_capacity(4096);
        let mut echoed = 0usize;
        loop {
            buf.clear();
            let (res, b) = stream.read(buf).await;
            buf = b;
            let n = res?;
            if n == 0 {
                return Ok::<usize, std::io::Error>(echoed);
            }
            let (res, b) = stream.write_all(buf).await;
            buf = b;
            res?;
            echoed += n;
        }
    });
    let client = TcpStream::connect(addr).await?;
    let mut verified = 0usize;
    for (i, &len) in [1usize, 100, 1000, 1460, 4096, 3000, 7].iter().enumerate() {
        let sent = pattern(len, i as u64 + 1);
        let (res, _) = client.write_all(sent.clone()).await;
        res?;
        let (res, got) = client.read_exact(vec![0u8; len].into_boxed_slice()).await;
        res?;
        assert!(
            got[..] == sent[..],
            "echo chunk {i} ({len} bytes) came back altered"
        );
        verified += len;
    }
    client.shutdown(std::net::Shutdown::Write).await?;
    let (res, _) = client.read(Vec::with_capacity(16)).await;
    assert_eq!(res?, 0, "EOF after the server saw our half close");
    let echoed = server.await.expect("server task")?;
    assert_eq!(echoed, verified, "the server echoed every byte once");
    Ok(verified)
}

/// Writes a file through ringbolt::fs at two offsets, syncs, reads it back byte for byte, checks
/// its length through `metadata`, and removes it.
async fn file_round_trip() -> std::io::Result<()> {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("driver_fallback_seccomp.{}", std::process::id()));
    let data = pattern(64 * 1024 + 123, 99);
    let file = ringbolt::fs::File::create(&path).await?;
    let (res, _) = file.write_all_at(data[..5000].to_vec(), 0).await;
    res?;
    let (res, _) = file.write_all_at(data[5000..].to_vec(), 5000).await;
    res?;
    file.sync_all().await?;
    file.close().await?;
    let file = ringbolt::fs::File::open(&path).await?;
    let (res, back) = file
        .read_exact_at(vec![0u8; data.len()].into_boxed_slice(), 0)
        .await;
    res?;
    assert!(back[..] == data[..], "file contents came back altered");
    let meta = file.metadata().await?;
    assert_eq!(meta.len(), data.len() as u64);
    file.close().await?;
    ringbolt::fs::remove_file(&path).await?;
    assert!(!path.exists());
    Ok(())
}

#[test]
fn child_fallback_serves_echo_and_files() {
    if !is_child("child_fallback_serves_echo_and_files") {
        return;
    }
    install_filter();
    let rt = ringbolt::Runtime::new().expect("Runtime::new falls back to epoll");
    let (driver, verified) = rt.block_on(async {
        let work = async {
            let verified = verified_echo().await?;
            file_round_trip().await?;
            Ok::<usize, std::io::Error>(verified)
        };
        let verified = ringbolt::time::timeout(WORK_LIMIT, work)
            .await
            .expect("echo and file work timed out")
            .expect("echo and file work");
        let driver = ringbolt::driver_kind();
        assert_eq!(ringbolt::stats().driver, driver);
        (driver, verified)
    });
    drop(rt);
    report("driver", format_args!("{driver:?}"));
    report("echo verified bytes", format_args!("{verified}"));
    report("file", format_args!("ok"));
    // A second runtime on this thread and one on another thread: the notice stays single.
    let again = ringbolt::Runtime::new().expect("second Runtime::new");
    assert_eq!(
        again.block_on(async { ringbolt::driver_kind() }),
        DriverKind::Epoll
    );
    drop(again);
    let other = std::thread::spawn(|| {
        let rt = ringbolt::Runtime::new().expect("Runtime::new on another thread");
        rt.block_on(async { ringbolt::driver_kind() })
    })
    .join()
    .expect("other thread");
    assert_eq!(other, DriverKind::Epoll);
    report("runtimes started", format_args!("3"));
}

#[test]
fn child_forced_uring_fails() {
    if !is_child("child_forced_uring_fails") {
        return;
    }
    install_filter();
    assert_eq!(std::env::var("RINGBOLT_DRIVER").as_deref(), Ok("uring"));
    let err = match ringbolt::Runtime::new() {
        Ok(_) => panic!("RINGBOLT_DRIVER=uring under a filter denying io_uring must fail"),
        Err(e) => e,
    };
    report("env kind", format_args!("{:?}", err.kind()));
    report(
        "env display",
        format_args!("{}", one_line(&err.to_string())),
    );
    report(
        "env debug",
        format_args!("{}", one_line(&format!("{err:?}"))),
    );
    let err = match ringbolt::Runtime::builder()
        .driver(DriverKind::IoUring)
        .build()
    {
        Ok(_) => panic!("Builder::driver(IoUring) under a filter denying io_uring must fail"),
        Err(e) => e,
    };
    report(
        "builder display",
        format_args!("{}", one_line(&err.to_string())),
    );
    report(
        "builder debug",
        format_args!("{}", one_line(&format!("{err:?}"))),
    );
    let rt = ringbolt::Runtime::builder()
        .driver(DriverKind::Epoll)
        .build()
        .expect("Builder::driver(Epoll) wins over RINGBOLT_DRIVER=uring");
    let kind = rt.block_on(async { ringbolt::driver_kind() });
    report("builder epoll driver", format_args!("{kind:?}"));
}

/// `text` on one line, for the `key: value` protocol.
fn one_line(text: &str) -> String {
    text.replace('\n', " ")
}

/// Prints `key: value` for the parent on its own line (see [`reported`]).
fn report(key: &str, value: std::fmt::Arguments<'_>) {
    println!("\n{REPORT_PREFIX}{key}: {value}");
}
