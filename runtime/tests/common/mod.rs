//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use ringbolt_runtime::buf::{IoBuf, IoBufMut};
use ringbolt_runtime::SharedFd;
use std::future::Future;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// A buffer that holds an `Arc`, so a test can see when the op's state is freed.
pub struct ArcBuf {
    pub token: Arc<()>,
    pub data: Vec<u8>,
}

// SAFETY: delegates to the Vec, whose heap block is stable while the ArcBuf moves.
unsafe impl IoBuf for ArcBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.data.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.data.len()
    }
    fn bytes_total(&self) -> usize {
        self.data.capacity()
    }
}

// SAFETY: as above.
unsafe impl IoBufMut for ArcBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.data.set_init(pos) }
    }
}

/// A pipe: (read end, write end).
pub fn pipe() -> (SharedFd, OwnedFd) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array on success.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both fds are fresh and owned by us.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    (SharedFd::new(rd), wr)
}

/// Number of open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Aborts the process if the returned guard is not dropped within `limit`.
pub fn watchdog(name: &'static str, limit: Duration) -> Watchdog {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("watchdog: {name} did not finish within {limit:?}");
            std::process::abort();
        }
    });
    Watchdog(tx)
}

/// Dropping it stops the watchdog.
pub struct Watchdog(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs `test` as a task on a fresh runtime; a deadlock fails the test instead of hanging it.
///
/// As a spawned task, the test's `yield_now` lets every other ready task run first.
pub fn run<F: Future<Output = ()> + 'static>(test: F) {
    let rt = ringbolt_runtime::Runtime::new().expect("io_uring runtime");
    rt.block_on(async {
        let test = ringbolt_runtime::spawn(test);
        match ringbolt_runtime::time::timeout(Duration::from_secs(60), test).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Ok(Err(err)) => panic!("test task failed: {err}"),
            Err(_) => panic!("test deadlocked"),
        }
    })
}

pub async fn yield_times(n: usize) {
    for _ in 0..n {
        ringbolt_runtime::task::yield_now().await;
    }
}

/// True, with a note on stderr, when the suite runs on the epoll driver
/// (`RINGBOLT_DRIVER=epoll`) and the calling test checks io_uring-only behaviour (`what`).
#[allow(dead_code)]
pub fn uring_only(what: &str) -> bool {
    let epoll =
        std::env::var("RINGBOLT_DRIVER").is_ok_and(|v| v.trim().eq_ignore_ascii_case("epoll"));
    if epoll {
        eprintln!("skipped on the epoll driver: {what} is io_uring-only");
    }
    epoll
}
