//! Helpers for the tests that run an example as its built binary, the way a user would.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// The built example `name`, as `cargo test` builds it next to the test binaries
/// (`target/<profile>/examples/<name>`). Built with cargo when it is missing or older than its
/// sources (e.g. when only this test target was built).
pub fn example_binary(name: &str, sources: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps");
    let bin = profile_dir.join("examples").join(name);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modified = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let newest_source = sources
        .iter()
        .map(|s| modified(&root.join(s)))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    if !bin.exists() || modified(&bin) < newest_source {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root)
            .args(["build", "--quiet", "--example", name]);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --example {name} failed");
    }
    assert!(bin.exists(), "{} not found", bin.display());
    bin
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A running example process whose stdout lines arrive on a channel.
pub struct Server {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    /// Every stdout line seen so far.
    pub seen: Vec<String>,
}

impl Server {
    /// Starts `bin` with `args`, stdout piped (stderr inherited, so its messages show in the
    /// test output).
    pub fn start(bin: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stdout line containing `needle` and returns it.
    pub fn wait_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?} within {limit:?}; output so far: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signo` to the process.
    pub fn signal(&self, signo: i32) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with our child's pid (not yet reaped, so not reused) and a valid
        // signal number.
        let r = unsafe { libc::kill(pid, signo) };
        assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits up to `limit` for the process to exit; kills it and fails if it does not.
    pub fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // The rest of stdout (the reader thread ends at EOF).
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return (status, start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "the process did not exit within {limit:?}; output: {:?}",
            self.seen
        );
    }

    /// Checks the exit report: no task aborted, and no fd open beyond those the process
    /// started with plus its signalfd.
    pub fn assert_clean_report(&self, name: &str) {
        let stopped = self
            .seen
            .iter()
            .find(|l| l.contains("stopped; open fds:"))
            .unwrap_or_else(|| panic!("no exit report in {:?}", self.seen));
        // "<name>: stopped; open fds: N (M at start)"
        let nums: Vec<usize> = stopped
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|s| s.parse().ok())
            .collect();
        let (open, at_start) = (nums[0], nums[1]);
        assert!(
            open <= at_start + 1,
            "{name} left fds open: {open} at exit, {at_start} at start (+1 signalfd allowed)"
        );
        for line in self.seen.iter().filter(|l| l.contains("aborted")) {
            assert!(
                line.ends_with(" 0 aborted"),
                "{name} aborted tasks at shutdown: {line}"
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Aborts the process if the returned guard is not dropped within `limit`.
pub fn watchdog(name: &'static str, limit: Duration) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("watchdog: {name} did not finish within {limit:?}");
            std::process::abort();
        }
    });
    tx
}

/// [`example_binary`] for an example whose source is `examples/<name>.rs`.
pub fn example_bin(name: &str) -> PathBuf {
    example_binary(name, &[&format!("examples/{name}.rs")])
}

/// A running example, stopped with SIGTERM (then SIGKILL after 10 s) when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: kill(2) with our child's pid (not yet reaped, so not reused) and SIGTERM.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], free_port()))
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
