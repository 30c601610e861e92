//! fio with matching parameters (`--ioengine=io_uring` with `iodepth=QD`, or
//! `--ioengine=psync` with QD threads), pinned to the server cores; its JSON output is parsed.
//!
//! fio cannot check our data pattern: an operation counts as verified when fio reports it with
//! no I/O error (fio itself fails a job on a short or failed transfer).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::spec::{FileSpec, Op, WorkerReport};
use crate::units::format_cores;

/// Whether `fio` is on PATH.
pub fn installed() -> bool {
    Command::new("fio")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// fio's arguments for `spec` with `engine` (`uring` or `psync`).
pub fn args(spec: &FileSpec, engine: &str) -> Vec<String> {
    let w = &spec.workload;
    let rw = match w.op {
        Op::RandRead => "randread",
        Op::SeqRead => "read",
        Op::RandWrite => "randwrite",
    };
    let mut a = vec![
        "--name=versus".to_string(),
        format!("--filename={}", spec.path.display()),
        format!("--size={}", spec.size),
        format!("--rw={rw}"),
        format!("--bs={}", w.bs),
        format!("--direct={}", u8::from(w.direct)),
        "--time_based=1".into(),
        format!("--ramp_time={}ms", spec.warmup_ms),
        format!("--runtime={}ms", spec.duration_ms),
        "--norandommap=1".into(),
        "--randrepeat=0".into(),
        "--invalidate=0".into(),
        "--overwrite=0".into(),
        "--lat_percentiles=1".into(),
        "--thread=1".into(),
        format!("--cpus_allowed={}", format_cores(&spec.cores)),
        "--output-format=json".into(),
    ];
    if engine == "uring" {
        a.push("--ioengine=io_uring".into());
        a.push(format!("--iodepth={}", w.qd));
    } else {
        a.push("--ioengine=psync".into());
        a.push(format!("--numjobs={}", w.qd));
        a.push("--group_reporting=1".into());
    }
    if let Some(n) = w.fsync_every {
        a.push(format!("--fdatasync={n}"));
    }
    a
}

/// Runs fio and converts its report.
///
/// # Errors
/// fio failing, timing out, or printing JSON this parser does not understand.
pub fn run(spec: &FileSpec, engine: &str, limit: Duration) -> Result<WorkerReport, String> {
    let mut cmd = Command::new("fio");
    cmd.args(args(spec, engine));
    let (ok, out, err, cpu_us) = run_reaped(&mut cmd, limit).map_err(|e| format!("fio: {e}"))?;
    if !ok {
        return Err(format!("fio failed: {}", err.trim()));
    }
    let mut report = parse(&out, spec, engine)?;
    // fio's own usr_cpu/sys_cpu leave out its io_uring worker threads; the process's rusage
    // covers them (and fio's start-up, a few ms), spread over every op of ramp + window.
    let all_ops = report.ops as f64 * (spec.warmup_ms + spec.duration_ms) as f64
        / spec.duration_ms.max(1) as f64;
    if all_ops > 0.0 {
        report.cpu_us = cpu_us * report.ops as f64 / all_ops;
    }
    Ok(report)
}

/// Runs a command to completion, reaping it with `wait4` to get its CPU time (all threads).
/// Returns (success, stdout, stderr, user + system µs).
fn run_reaped(cmd: &mut Command, limit: Duration) -> std::io::Result<(bool, String, String, f64)> {
    use std::io::Read;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut out = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut err = child
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr"))?;
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
    let deadline = Instant::now() + limit;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: all-zero bytes is a valid rusage.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `usage` are writable; `pid` is our unreaped child.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if rc == pid {
            break (status, usage);
        }
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((
        ok,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
        tv(usage.ru_utime) + tv(usage.ru_stime),
    ))
}

/// Parses fio's JSON output (fio may print warnings before the JSON object).
///
/// # Errors
/// Missing fields or a job error.
pub fn parse(out: &str, spec: &FileSpec, engine: &str) -> Result<WorkerReport, String> {
    let json = out
        .find('{')
        .map(|i| &out[i..])
        .ok_or("fio printed no JSON")?;
    let v: Value = serde_json::from_str(json).map_err(|e| format!("fio JSON: {e}"))?;
    let job = &v["jobs"][0];
    if job["error"].as_i64().unwrap_or(0) != 0 {
        return Err(format!("fio job error {}", job["error"]));
    }
    let dir = if spec.workload.op == Op::RandWrite {
        &job["write"]
    } else {
        &job["read"]
    };
    let num = |x: &Value| {
        x.as_f64()
            .ok_or_else(|| format!("fio JSON lacks a number at {x}"))
    };
    let ops = num(&dir["total_ios"])? as u64;
    let iops = num(&dir["iops"])?;
    let pct = |p: &str| dir["lat_ns"]["percentile"][p].as_f64().unwrap_or(0.0) as u64;
    let runtime_s = num(&job["job_runtime"]).unwrap_or(spec.duration_ms as f64) / 1e3;
    let cpu_pct = num(&job["usr_cpu"]).unwrap_or(0.0) + num(&job["sys_cpu"]).unwrap_or(0.0);
    let window_s = if iops > 0.0 {
        ops as f64 / iops
    } else {
        runtime_s
    };
    Ok(WorkerReport {
        ops,
        bytes: num(&dir["io_bytes"])? as u64,
        window_s,
        p50_ns: pct("50.000000"),
        p99_ns: pct("99.000000"),
        cpu_us: cpu_pct / 100.0 * runtime_s * 1e6,
        verified_ops: ops,
        threads: if engine == "psync" {
            spec.workload.qd
        } else {
            1
        },
    })
}
