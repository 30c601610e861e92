//! Parent side of the child processes: re-executing this binary with a hidden subcommand and
//! talking to it over its stdin/stdout.
//!
//! Every wait is bounded; a child that outlives its handle is killed.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Timeout for a child's `ready` line or a reply to `stats`.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable that selects ringbolt's driver (`uring`, `epoll` or `auto`).
pub const DRIVER_ENV: &str = "RINGBOLT_DRIVER";

/// The ringbolt driver a contender's child runs on (`--serve` or `--file-worker` name): the
/// `-epoll` contenders force the epoll driver; every other ringbolt contender forces io_uring,
/// so that where io_uring is forbidden its row shows the setup error rather than silently
/// measuring the fallback. `None` for contenders that are not ringbolt.
pub fn ringbolt_driver(contender: &str) -> Option<&'static str> {
    let name = contender.strip_prefix("http-").unwrap_or(contender);
    if !name.starts_with("ringbolt") {
        return None;
    }
    Some(if name.ends_with("-epoll") {
        "epoll"
    } else {
        "uring"
    })
}

/// Sets [`DRIVER_ENV`] for a contender's child as [`ringbolt_driver`] says (and removes it for
/// the others, so a value in the runner's own environment cannot leak into a row's meaning).
pub fn set_driver_env(cmd: &mut Command, contender: &str) {
    match ringbolt_driver(contender) {
        Some(driver) => cmd.env(DRIVER_ENV, driver),
        None => cmd.env_remove(DRIVER_ENV),
    };
}

/// Child side: inside a ringbolt runtime, checks that it runs on the driver [`DRIVER_ENV`] asked
/// for, so a row labelled `-epoll` can never be measured on io_uring (or the reverse).
///
/// # Errors
/// A message naming both drivers when they differ.
pub fn check_driver() -> Result<(), String> {
    use ringbolt_runtime::DriverKind;
    let asked = std::env::var(DRIVER_ENV).unwrap_or_default();
    let running = ringbolt_runtime::driver_kind();
    let ok = match asked.as_str() {
        "epoll" => matches!(running, DriverKind::Epoll),
        "uring" => matches!(running, DriverKind::IoUring),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{DRIVER_ENV}={asked} but the runtime runs on the {running:?} driver"
        ))
    }
}

/// A running echo server child process.
pub struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Port the server listens on (127.0.0.1).
    pub port: u16,
}

impl ServerProcess {
    /// Starts `--serve CONTENDER --cores .. --buf ..` and waits for `ready PORT`.
    ///
    /// # Errors
    /// Spawn failure, or the child exits or stays silent before it is ready (its stderr is
    /// passed through, so its reason is on the terminal).
    pub fn spawn(contender: &str, cores: &str, buf_size: usize) -> io::Result<ServerProcess> {
        let exe = std::env::current_exe()?;
        let mut cmd = Command::new(exe);
        set_driver_env(&mut cmd, contender);
        let mut child = cmd
            .args(["--serve", contender, "--cores", cores, "--buf"])
            .arg(buf_size.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("no stderr"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (etx, errors) = mpsc::channel();
        std::thread::spawn(move || {
            let text: Vec<String> = BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .collect();
            let _ = etx.send(text.join("; "));
        });
        let stdin = child.stdin.take();
        let mut server = ServerProcess {
            child,
            stdin,
            lines,
            port: 0,
        };
        match server.lines.recv_timeout(REPLY_TIMEOUT) {
            Ok(line) => match line
                .strip_prefix("ready ")
                .and_then(|p| p.trim().parse().ok())
            {
                Some(port) => server.port = port,
                None => {
                    return Err(io::Error::other(format!(
                        "{contender}: unexpected {line:?}"
                    )))
                }
            },
            Err(_) => {
                server.kill();
                let why = errors
                    .recv_timeout(Duration::from_secs(2))
                    .unwrap_or_default();
                return Err(io::Error::other(format!(
                    "{contender} server did not start: {why}"
                )));
            }
        }
        Ok(server)
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Syscalls the server counted itself so far, or `None` when it does not count.
    ///
    /// # Errors
    /// The child is gone or does not answer.
    pub fn syscalls(&mut self) -> io::Result<Option<u64>> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        stdin.write_all(b"stats\n")?;
        stdin.flush()?;
        let line = self
            .lines
            .recv_timeout(REPLY_TIMEOUT)
            .map_err(|_| io::Error::other("server did not answer stats"))?;
        let n: i64 = line
            .strip_prefix("stats ")
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected reply {line:?}")))?;
        Ok(u64::try_from(n).ok())
    }

    /// Closes its stdin (the child exits) and waits up to 2 s, then kills it.
    pub fn shutdown(mut self) {
        self.stdin.take();
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.kill();
        }
    }
}

/// Runs a command to completion with a time limit; returns (status ok, stdout, stderr).
///
/// # Errors
/// Spawn failure or the time limit passing (the child is killed).
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> io::Result<(bool, String, String)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| io::Error::other("no stderr"))?;
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(io::ErrorKind::TimedOut, "child timed out"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    Ok((status.success(), out, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_per_contender() {
        assert_eq!(ringbolt_driver("ringbolt"), Some("uring"));
        assert_eq!(ringbolt_driver("ringbolt-poll"), Some("uring"));
        assert_eq!(ringbolt_driver("http-ringbolt"), Some("uring"));
        assert_eq!(ringbolt_driver("ringbolt-epoll"), Some("epoll"));
        assert_eq!(ringbolt_driver("tokio-mt"), None);
        assert_eq!(ringbolt_driver("raw-epoll"), None);
        assert_eq!(ringbolt_driver("http-tokio-percore"), None);
    }
}
