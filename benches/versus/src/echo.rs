//! The echo part: every cell × repetition × contender, interleaved, with far-state re-runs.
//!
//! One run: probe → start the server child → connect and warm up → sample the server's CPU and
//! syscall counter → measure → sample again → stop → probe. The CPU window is the load
//! generator's measured window to within the microseconds it takes to flip the phase flag.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::child::ServerProcess;
use crate::cpu::process_cpu;
use crate::loadgen::{LoadGen, LoadSpec};
use crate::probe::bounce_ns;
use crate::results::{fill_echo_ratios, EchoCell, EchoRun};
use crate::runner::Ctx;
use crate::servers::counts_own_syscalls;
use crate::units::fmt_size;

/// Per-connection server buffer, the same for every contender.
pub const SERVER_BUF: usize = 64 * 1024;
/// Measured window of the extra `perf stat` run that counts syscalls.
const PERF_WINDOW: Duration = Duration::from_millis(500);

/// Number of progress steps the echo part will take (runs plus perf passes).
pub fn planned_steps(ctx: &Ctx, contenders: &[String]) -> u64 {
    let cells = (ctx.args.conns.len() * ctx.args.sizes.len()) as u64;
    let perf = if ctx.perf_available {
        contenders
            .iter()
            .filter(|c| !counts_own_syscalls(c))
            .count() as u64
    } else {
        0
    };
    cells * (ctx.args.reps as u64 * contenders.len() as u64 + perf)
}

/// Runs the echo matrix; returns the cell summaries and every kept run.
pub fn run_matrix(ctx: &Ctx, contenders: &[String]) -> (Vec<EchoCell>, Vec<EchoRun>) {
    let mut cells = Vec::new();
    let mut all_runs = Vec::new();
    for &conns in &ctx.args.conns {
        for &size in &ctx.args.sizes {
            let mut runs: Vec<Vec<EchoRun>> = vec![Vec::new(); contenders.len()];
            let mut errors: Vec<Vec<String>> = vec![Vec::new(); contenders.len()];
            for rep in 0..ctx.args.reps {
                for (i, contender) in contenders.iter().enumerate() {
                    ctx.step(&format!(
                        "echo {contender} {conns}×{} rep {}",
                        fmt_size(size),
                        rep + 1
                    ));
                    match run_with_retries(ctx, Workload::Echo, contender, conns, size, rep) {
                        Ok(run) => runs[i].push(run),
                        Err(e) => errors[i].push(e.to_string()),
                    }
                }
            }
            for (i, contender) in contenders.iter().enumerate() {
                let mut cell = EchoCell::from_runs(
                    contender,
                    conns,
                    size,
                    &runs[i],
                    std::mem::take(&mut errors[i]),
                );
                if ctx.perf_available && !counts_own_syscalls(contender) {
                    ctx.step(&format!(
                        "echo {contender} {conns}×{} syscalls (perf)",
                        fmt_size(size)
                    ));
                    match perf_syscalls(ctx, Workload::Echo, contender, conns, size) {
                        Ok(v) => {
                            cell.syscalls_per_rt = Some(v);
                            cell.syscalls_source = Some("perf".into());
                        }
                        Err(e) => cell.errors.push(format!("perf syscall count: {e}")),
                    }
                }
                cells.push(cell);
                all_runs.append(&mut runs[i]);
            }
            let first = cells.len() - contenders.len();
            fill_echo_ratios(&mut cells[first..]);
            for cell in &cells[first..] {
                ctx.println(&crate::report::table::echo_line(cell));
            }
        }
    }
    (cells, all_runs)
}

/// What a run measures: echo of S-byte messages, or keep-alive HTTP `GET`s (see
/// [`crate::http`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// TCP echo.
    Echo,
    /// HTTP/1.1 keep-alive `GET /`, same columns as echo (a round trip is a request).
    Http,
}

impl Workload {
    fn server(self, contender: &str) -> String {
        match self {
            Workload::Echo => contender.to_string(),
            Workload::Http => crate::servers::http_server(contender),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::Http => "http",
        }
    }

    /// The measured window: HTTP runs take half the echo window (1 s by default), which keeps
    /// the default run within its time budget.
    fn duration(self, ctx: &Ctx) -> Duration {
        match self {
            Workload::Echo => ctx.args.duration,
            Workload::Http => ctx.args.duration / 2,
        }
    }
}

pub(crate) fn run_with_retries(
    ctx: &Ctx,
    workload: Workload,
    contender: &str,
    conns: usize,
    size: usize,
    rep: usize,
) -> io::Result<EchoRun> {
    let mut attempt = 0;
    loop {
        let mut run = run_workload(ctx, workload, contender, conns, size)?;
        run.rep = rep;
        run.attempt = attempt;
        if !run.far || attempt >= ctx.args.far_retries {
            return Ok(run);
        }
        ctx.println(&format!(
            "  far state (probe {:.0}/{:.0} ns): re-running {} {contender} {conns}×{}",
            run.probe_before_ns.unwrap_or(0.0),
            run.probe_after_ns.unwrap_or(0.0),
            workload.name(),
            fmt_size(size)
        ));
        attempt += 1;
    }
}

fn probe(ctx: &Ctx) -> Option<f64> {
    bounce_ns(ctx.args.server_cores[0], ctx.client_cores[0])
}

fn load_spec(ctx: &Ctx, workload: Workload, port: u16, conns: usize, size: usize) -> LoadSpec {
    LoadSpec {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        conns,
        size,
        rate: ctx.args.rate,
        cores: ctx.client_cores.clone(),
        spin: !ctx
            .client_cores
            .iter()
            .any(|c| ctx.args.server_cores.contains(c)),
        http: workload == Workload::Http,
    }
}

/// One measured run of one contender.
///
/// # Errors
/// Server start, load generation or verification failures.
pub fn run_once(ctx: &Ctx, contender: &str, conns: usize, size: usize) -> io::Result<EchoRun> {
    run_workload(ctx, Workload::Echo, contender, conns, size)
}

/// One measured run of one contender on `workload`.
///
/// # Errors
/// Server start, load generation or verification failures.
pub fn run_workload(
    ctx: &Ctx,
    workload: Workload,
    contender: &str,
    conns: usize,
    size: usize,
) -> io::Result<EchoRun> {
    let probe_before_ns = probe(ctx);
    let server_name = workload.server(contender);
    let mut server = ServerProcess::spawn(&server_name, &ctx.server_cores_arg(), SERVER_BUF)?;
    let pid = server.pid();
    let load = LoadGen::start(&load_spec(ctx, workload, server.port, conns, size))?;
    std::thread::sleep(ctx.args.warmup);
    let sc0 = server.syscalls()?;
    let cpu0 = process_cpu(pid)?;
    load.measure();
    std::thread::sleep(workload.duration(ctx));
    load.signal_stop();
    let cpu = process_cpu(pid)?.since(cpu0);
    let sc1 = server.syscalls()?;
    let result = load.finish();
    server.shutdown();
    let result = result?;
    let probe_after_ns = probe(ctx);
    if result.round_trips == 0 {
        return Err(io::Error::other("no round trip completed"));
    }
    let rts = result.round_trips as f64;
    let pct = |q: f64| result.hist.quantile(q).unwrap_or(0) as f64 / 1e3;
    let far = [probe_before_ns, probe_after_ns]
        .iter()
        .flatten()
        .any(|&ns| ns > ctx.args.far_ns);
    Ok(EchoRun {
        contender: contender.to_string(),
        conns,
        size,
        rep: 0,
        attempt: 0,
        rps: result.rps,
        round_trips: result.round_trips,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        p999_us: pct(0.999),
        user_us_per_rt: cpu.user_us / rts,
        sys_us_per_rt: cpu.sys_us / rts,
        syscalls_per_rt: sc0.zip(sc1).map(|(a, b)| b.saturating_sub(a) as f64 / rts),
        client_us_per_rt: result.cpu_us / rts,
        probe_before_ns,
        probe_after_ns,
        far,
        verified_bytes: result.verified_bytes,
        dropped: result.dropped,
    })
}

/// Whether `perf stat -e raw_syscalls:sys_enter` works here.
pub fn perf_works() -> bool {
    Command::new("perf")
        .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Syscalls per round trip from a separate, unmeasured run under `perf stat` (the tracepoint
/// slows syscalls down, so it never overlaps a measured window).
pub(crate) fn perf_syscalls(
    ctx: &Ctx,
    workload: Workload,
    contender: &str,
    conns: usize,
    size: usize,
) -> io::Result<f64> {
    let server_name = workload.server(contender);
    let server = ServerProcess::spawn(&server_name, &ctx.server_cores_arg(), SERVER_BUF)?;
    let load = LoadGen::start(&load_spec(ctx, workload, server.port, conns, size))?;
    let perf = Command::new("perf")
        .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p"])
        .arg(server.pid().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(100));
    load.measure();
    std::thread::sleep(PERF_WINDOW);
    load.signal_stop();
    // SAFETY: kill has no memory-safety preconditions; the pid is our live child.
    unsafe { libc::kill(perf.id() as libc::pid_t, libc::SIGINT) };
    let out = perf.wait_with_output()?;
    let result = load.finish();
    server.shutdown();
    let result = result?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (count, ns) = parse_perf_csv(&stderr)
        .ok_or_else(|| io::Error::other(format!("unparsable perf output {stderr:?}")))?;
    if result.rps <= 0.0 || ns <= 0.0 {
        return Err(io::Error::other("no traffic during the perf window"));
    }
    Ok(count / (ns / 1e9) / result.rps)
}

/// `(count, counting time in ns)` from `perf stat -x,` output.
pub fn parse_perf_csv(text: &str) -> Option<(f64, f64)> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() >= 4 && f[2] == "raw_syscalls:sys_enter" {
            Some((f[0].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_csv() {
        let text = "some warning\n2005435,,raw_syscalls:sys_enter,477417241,100.00,,\n";
        assert_eq!(parse_perf_csv(text), Some((2005435.0, 477417241.0)));
        assert_eq!(
            parse_perf_csv("<not counted>,,raw_syscalls:sys_enter,0,0,,"),
            None
        );
    }
}
