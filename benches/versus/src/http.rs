//! The HTTP part: the same hyper service (see [`crate::servers::http`]) on ringbolt, tokio
//! multi-thread and tokio `current_thread` per core, driven by the runner's own load generator
//! in HTTP mode (keep-alive `GET /`, closed loop, every response parsed and verified), at each
//! connection count, interleaved across contenders like echo. Same columns as echo: a round
//! trip is one request.

use crate::echo::{perf_syscalls, run_with_retries, Workload};
use crate::results::{fill_echo_ratios, EchoCell, EchoRun};
use crate::runner::Ctx;
use crate::servers::http::BODY;

/// Number of progress steps the HTTP part will take.
pub fn planned_steps(ctx: &Ctx, contenders: &[String]) -> u64 {
    let perf = if ctx.perf_available {
        contenders.len() as u64
    } else {
        0
    };
    ctx.args.conns.len() as u64 * (ctx.args.reps as u64 * contenders.len() as u64 + perf)
}

/// Runs the HTTP matrix; returns the cell summaries (`size` is the response body's length)
/// and every kept run.
pub fn run_matrix(ctx: &Ctx, contenders: &[String]) -> (Vec<EchoCell>, Vec<EchoRun>) {
    let size = BODY.len();
    let mut cells = Vec::new();
    let mut all_runs = Vec::new();
    for &conns in &ctx.args.conns {
        let mut runs: Vec<Vec<EchoRun>> = vec![Vec::new(); contenders.len()];
        let mut errors: Vec<Vec<String>> = vec![Vec::new(); contenders.len()];
        for rep in 0..ctx.args.reps {
            for (i, contender) in contenders.iter().enumerate() {
                ctx.step(&format!("http {contender} {conns} conns rep {}", rep + 1));
                match run_with_retries(ctx, Workload::Http, contender, conns, size, rep) {
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
            if ctx.perf_available {
                ctx.step(&format!("http {contender} {conns} conns syscalls (perf)"));
                match perf_syscalls(ctx, Workload::Http, contender, conns, size) {
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
            ctx.println(&format!("http {}", crate::report::table::echo_line(cell)));
        }
    }
    (cells, all_runs)
}
