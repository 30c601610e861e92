//! The comparison tables printed on stdout.

use std::fmt::Write;

use crate::results::{EchoCell, FileCell, Report};
use crate::stats::SPREAD_FLAG;
use crate::units::fmt_size;

fn num(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(x) => format!("{x:.prec$}"),
        None => "n/a".into(),
    }
}

fn ratio(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into())
}

/// Header of the echo table.
pub fn echo_header() -> String {
    format!(
        "{:<14} {:<14} {:>8} {:>17} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}",
        "conns x size",
        "contender",
        "krps",
        "min-max (spread)",
        "xtokio",
        "xuring",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "usr/rt",
        "sys/rt",
        "sc/rt",
        "cli/rt",
        "probe"
    )
}

/// One echo row (also printed as each cell finishes).
pub fn echo_line(c: &EchoCell) -> String {
    let cell = format!("{} x {}", c.conns, fmt_size(c.size));
    let Some(k) = &c.krps else {
        return format!(
            "{cell:<14} {:<14} failed: {}",
            c.contender,
            c.errors.join("; ")
        );
    };
    let spread = format!(
        "{:.0}-{:.0} ({:.0}%){}",
        k.min,
        k.max,
        k.spread * 100.0,
        if k.noisy() { "!" } else { "" }
    );
    let sc = match (c.syscalls_per_rt, c.syscalls_source.as_deref()) {
        (Some(v), Some("perf")) => format!("{v:.2}p"),
        (v, _) => num(v, 2),
    };
    let mut line = format!(
        "{cell:<14} {:<14} {:>8.1} {:>17} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}",
        c.contender,
        k.median,
        spread,
        ratio(c.vs_best_tokio),
        ratio(c.vs_raw_uring),
        num(c.p50_us, 1),
        num(c.p99_us, 1),
        num(c.p999_us, 1),
        num(c.user_us_per_rt, 3),
        num(c.sys_us_per_rt, 3),
        sc,
        num(c.client_us_per_rt, 2),
        num(c.probe_max_ns, 0),
    );
    if c.far_runs > 0 {
        let _ = write!(line, "  ({} run(s) in the far state)", c.far_runs);
    }
    if !c.errors.is_empty() {
        let _ = write!(
            line,
            "  [{} failed run(s): {}]",
            c.errors.len(),
            c.errors.join("; ")
        );
    }
    line
}

/// Header of the file table.
pub fn file_header() -> String {
    format!(
        "{:<32} {:<15} {:>9} {:>19} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9}",
        "workload",
        "contender",
        "kIOPS",
        "min-max (spread)",
        "MiB/s",
        "xuring",
        "xtokfs",
        "p50 us",
        "p99 us",
        "cpu us/op"
    )
}

/// One file row.
pub fn file_line(c: &FileCell) -> String {
    let Some(k) = &c.kiops else {
        return format!(
            "{:<32} {:<15} {}",
            c.workload,
            c.contender,
            c.errors.join("; ")
        );
    };
    let spread = format!(
        "{:.0}-{:.0} ({:.0}%){}",
        k.min,
        k.max,
        k.spread * 100.0,
        if k.noisy() { "!" } else { "" }
    );
    let mut line = format!(
        "{:<32} {:<15} {:>9.1} {:>19} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9}",
        c.workload,
        c.contender,
        k.median,
        spread,
        num(c.mib_s, 0),
        ratio(c.vs_raw_uring),
        ratio(c.vs_tokio_fs),
        num(c.p50_us, 1),
        num(c.p99_us, 1),
        num(c.cpu_us_per_op, 2),
    );
    if !c.errors.is_empty() {
        let _ = write!(line, "  [{}]", c.errors.join("; "));
    }
    line
}

/// The whole report as text.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let m = &r.machine;
    let _ = writeln!(
        out,
        "\nmachine: {} | {} | {} CPUs | server cores {:?} | load generator cores {:?} | load average {:.1} -> {:.1}",
        m.kernel, m.cpu, m.cpus, m.server_cores, m.client_cores, m.load_avg_start, m.load_avg_end
    );
    if !r.echo.is_empty() {
        let _ = writeln!(out, "\nEcho ({}), median of repetitions:", r.echo_mode);
        let _ = writeln!(out, "{}", echo_header());
        for c in &r.echo {
            let _ = writeln!(out, "{}", echo_line(c));
        }
        let _ = write!(
            out,
            "xtokio: vs the better tokio setup; xuring: vs the raw io_uring loop\n\
usr/rt, sys/rt: server CPU us per round trip; cli/rt: load generator CPU us per round trip\n\
sc/rt: syscalls per round trip (p = counted by perf stat in a separate run)\n\
probe: max ns per cache-line bounce (far above {:.0}); ! = spread > {:.0}%\n",
            r.far_ns,
            SPREAD_FLAG * 100.0
        );
    }
    if !r.http.is_empty() {
        let _ = writeln!(
            out,
            "\nHTTP/1.1 keep-alive GET (same hyper service; ringbolt through PollIo), closed loop, median of repetitions:"
        );
        let _ = writeln!(out, "{}", echo_header());
        for c in &r.http {
            let _ = writeln!(out, "{}", echo_line(c));
        }
        let _ = writeln!(
            out,
            "size = response body; a round trip is one request; columns as for echo"
        );
    }
    if !r.file.is_empty() {
        let _ = writeln!(out, "\nFile, median of repetitions:");
        let _ = writeln!(out, "{}", file_header());
        for c in &r.file {
            let _ = writeln!(out, "{}", file_line(c));
        }
        let _ = write!(
            out,
            "xuring: vs the raw io_uring loop; xtokfs: vs tokio::fs; cpu us/op: process CPU (user + \
kernel, every thread) per op\n! = spread > {:.0}% (with one repetition there is no spread)\n",
            SPREAD_FLAG * 100.0
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "wall time {:.0} s", r.wall_s);
    out
}
