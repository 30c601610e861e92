//! Helpers shared by the fs integration tests. Each test file uses a subset, hence the
//! per-item `allow(dead_code)`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A unique directory under the system temp dir, removed with its contents on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!(
            "ringbolt-fs-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn path(&self) -> &Path {
        &self.0
    }

    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `fut` on a fresh single-core runtime, failing the test if it takes longer than
/// `limit`.
#[allow(dead_code, reason = "not every test file uses every helper")]
pub fn run<F: Future>(limit: Duration, fut: F) -> F::Output {
    let rt = ringbolt_runtime::Runtime::new().expect("io_uring runtime");
    rt.block_on(async {
        match ringbolt_runtime::time::timeout(limit, fut).await {
            Ok(v) => v,
            Err(_) => panic!("test did not finish within {limit:?}"),
        }
    })
}

/// Open fds of this process.
#[allow(dead_code, reason = "not every test file uses every helper")]
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(u64);

impl Rng {
    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    #[allow(dead_code, reason = "not every test file uses every helper")]
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }
}

/// FNV-1a, 64 bit.
#[allow(dead_code, reason = "not every test file uses every helper")]
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A seed from the clock, printed so a failure can be replayed.
#[allow(dead_code, reason = "not every test file uses every helper")]
pub fn seed(name: &str) -> u64 {
    let s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let s = std::env::var("RINGBOLT_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(s);
    eprintln!("{name}: seed {s} (set RINGBOLT_TEST_SEED to replay)");
    s
}

/// Shorthand for seconds.
#[allow(dead_code, reason = "not every test file uses every helper")]
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
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
