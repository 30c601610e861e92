//! Helpers shared by the net integration tests: watchdog, fd counting, deterministic data.
#![allow(dead_code)] // each test binary uses a different subset

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Aborts the process if the test is still running after `limit` (a hung test must fail,
/// not stall CI). Disarmed on drop.
pub struct Watchdog {
    done: Arc<AtomicBool>,
}

pub fn watchdog(limit: Duration) -> Watchdog {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        while !flag.load(Ordering::Acquire) {
            if start.elapsed() > limit {
                eprintln!("watchdog: test still running after {limit:?}; aborting");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    Watchdog { done }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
    }
}

/// Number of open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count().saturating_sub(1)) // the read_dir's own fd
        .unwrap_or(0)
}

/// Waits (bounded) until the open-fd count is back to `baseline`; returns the last count.
pub fn settle_fds(baseline: usize, limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let n = open_fds();
        if n <= baseline || start.elapsed() > limit {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// xorshift64*: deterministic, seedable test randomness.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.fill(&mut v);
        v
    }
}

/// FNV-1a over 8-byte words: a cheap order-sensitive checksum that does not depend on how
/// the data is split into `update` calls.
#[derive(Clone, Copy)]
pub struct Checksum {
    h: u64,
    pending: [u8; 8],
    npending: usize,
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum {
            h: 0xcbf2_9ce4_8422_2325,
            pending: [0; 8],
            npending: 0,
        }
    }
}

impl Checksum {
    fn word(&mut self, w: [u8; 8]) {
        self.h = (self.h ^ u64::from_le_bytes(w)).wrapping_mul(0x100_0000_01b3);
    }
    pub fn update(&mut self, mut data: &[u8]) {
        if self.npending > 0 {
            let take = (8 - self.npending).min(data.len());
            self.pending[self.npending..self.npending + take].copy_from_slice(&data[..take]);
            self.npending += take;
            data = &data[take..];
            if self.npending < 8 {
                return;
            }
            self.word(self.pending);
            self.npending = 0;
        }
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(w);
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.npending = rest.len();
    }
    pub fn value(&self) -> u64 {
        let mut h = self.h;
        for &b in &self.pending[..self.npending] {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        h ^ self.npending as u64
    }
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Serialises the tests of one binary that count process-wide fds.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
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
