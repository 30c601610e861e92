//! Process CPU time from `/proc/<pid>/stat` (user and kernel, in µs).
//!
//! The kernel reports these in clock ticks (`USER_HZ`, 100 per second here), so over a 2-second
//! window the resolution is 10 ms, i.e. about 0.01 µs per round trip at 1 M round trips.

use std::io;

/// User and kernel CPU time consumed by a process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTimes {
    /// User time in µs.
    pub user_us: f64,
    /// Kernel (system) time in µs.
    pub sys_us: f64,
}

impl CpuTimes {
    /// `self - earlier`.
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user_us: self.user_us - earlier.user_us,
            sys_us: self.sys_us - earlier.sys_us,
        }
    }
}

/// CPU times of process `pid` (all its threads, living and exited).
///
/// # Errors
/// Fails when the process is gone or the file cannot be parsed.
pub fn process_cpu(pid: u32) -> io::Result<CpuTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&stat, clock_ticks_per_sec())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unparsable /proc/pid/stat"))
}

/// CPU times of this process.
///
/// # Errors
/// As [`process_cpu`].
pub fn self_cpu() -> io::Result<CpuTimes> {
    process_cpu(std::process::id())
}

/// CPU times of the calling thread.
///
/// # Errors
/// As [`process_cpu`].
pub fn thread_cpu() -> io::Result<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
    parse_stat(&stat, clock_ticks_per_sec()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "unparsable /proc/thread-self/stat",
        )
    })
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Parses utime and stime (fields 14 and 15) from a `/proc/<pid>/stat` line.
pub fn parse_stat(stat: &str, hz: f64) -> Option<CpuTimes> {
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state), so field 14 is index 11.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(CpuTimes {
        user_us: utime * 1e6 / hz,
        sys_us: stime * 1e6 / hz,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let line = "1234 (my (weird) exe) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0";
        let t = parse_stat(line, 100.0).expect("parse");
        assert_eq!(t.user_us, 2_500_000.0);
        assert_eq!(t.sys_us, 750_000.0);
        assert!(parse_stat("garbage", 100.0).is_none());
    }

    #[test]
    fn self_cpu_grows_with_work() {
        // Spin until the process has used 20 ms of CPU by its own account (a loaded machine
        // may give a 60 ms wall-clock loop only a fraction of that); 10 s bounds the loop.
        let before = self_cpu().expect("read /proc/self/stat");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let d = self_cpu().expect("read").since(before);
            if d.user_us + d.sys_us >= 20_000.0 {
                break;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "10 s of spinning counted only {d:?}"
            );
        }
    }
}
