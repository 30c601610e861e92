//! The whole run: plan, progress bar, echo part, file part, outputs.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::affinity::client_cores;
use crate::args::RunArgs;
use crate::file::dataset::Dataset;
use crate::results::{Machine, Report};
use crate::units::format_cores;
use crate::{echo, file, http, report, servers};

/// Shared state of one run.
pub struct Ctx {
    /// The arguments.
    pub args: RunArgs,
    /// Load generator cores.
    pub client_cores: Vec<usize>,
    /// `perf stat` can count syscalls here.
    pub perf_available: bool,
    bar: Option<ProgressBar>,
    steps: Cell<u64>,
}

impl Ctx {
    /// Marks the start of the next step.
    pub fn step(&self, msg: &str) {
        if let Some(bar) = &self.bar {
            if self.steps.get() > 0 {
                bar.inc(1);
            }
            bar.set_message(msg.to_string());
        }
        self.steps.set(self.steps.get() + 1);
    }

    /// Prints a line above the progress bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// Server cores as a `--cores` argument.
    pub fn server_cores_arg(&self) -> String {
        format_cores(&self.args.server_cores)
    }
}

/// The cargo target directory this binary was built into, if it can be found.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The 1-minute load average, if readable.
pub fn load_avg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

fn machine(server: &[usize], client: &[usize], load_avg_start: f64) -> Machine {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_default();
    Machine {
        kernel: format!(
            "{} {}",
            read("/proc/sys/kernel/ostype"),
            read("/proc/sys/kernel/osrelease")
        ),
        cpu,
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        server_cores: server.to_vec(),
        client_cores: client.to_vec(),
        load_avg_start,
        load_avg_end: load_avg(),
    }
}

/// Keeps the requested names that are available; notes the rest.
fn select(
    kind: &str,
    requested: Option<&Vec<String>>,
    available: &[&str],
    known: &[&str],
    notes: &mut Vec<String>,
) -> Vec<String> {
    match requested {
        None => available.iter().map(|s| s.to_string()).collect(),
        Some(req) => req
            .iter()
            .filter(|r| {
                let ok = available.contains(&r.as_str());
                if !ok && !known.contains(&r.as_str()) {
                    notes.push(format!(
                        "{kind} contender {r:?} is unknown (known: {})",
                        known.join(", ")
                    ));
                }
                ok
            })
            .cloned()
            .collect(),
    }
}

fn progress(enabled: bool, total: u64) -> Option<ProgressBar> {
    if !enabled || total == 0 {
        return None;
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} eta {eta} {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(250));
    Some(bar)
}

/// Which contenders run, on which load generator cores, and what was left out (notes).
struct Plan {
    echo: Vec<String>,
    http: Vec<String>,
    file: Vec<String>,
    client: Vec<usize>,
    perf_available: bool,
    notes: Vec<String>,
}

fn plan(args: &RunArgs, load_start: f64) -> Plan {
    let mut notes = Vec::new();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if load_start > 0.5 * cpus as f64 {
        notes.push(format!(
            "the machine is busy (load average {load_start:.1} on {cpus} CPUs): figures will be low and noisy"
        ));
    }
    let client = client_cores(&args.server_cores, args.client_cores.as_deref());
    if client.iter().any(|c| args.server_cores.contains(c)) {
        notes.push("load generator shares cores with the server (one-CPU machine?)".into());
    }
    let mut echo = Vec::new();
    if args.echo {
        let available = match args.contenders {
            Some(_) => servers::selectable(),
            None => servers::available(),
        };
        echo = select(
            "echo",
            args.contenders.as_ref(),
            &available,
            &servers::selectable(),
            &mut notes,
        );
    }
    let mut file = Vec::new();
    if args.file {
        let (available, file_notes) = file::available();
        notes.extend(file_notes);
        file = select(
            "file",
            args.file_contenders.as_ref(),
            &available,
            file::FILE_CONTENDERS,
            &mut notes,
        );
    }
    let http = if args.http {
        servers::HTTP_CONTENDERS
            .iter()
            .map(|s| s.to_string())
            .filter(|c| args.contenders.as_ref().is_none_or(|req| req.contains(c)))
            .collect()
    } else {
        Vec::new()
    };
    let tcp = args.echo || args.http;
    let perf_available = tcp && args.perf_syscalls && echo::perf_works();
    if tcp && args.perf_syscalls && !perf_available {
        notes.push("perf stat unavailable: tokio/ringbolt syscalls per round trip are n/a".into());
    }
    Plan {
        echo,
        http,
        file,
        client,
        perf_available,
        notes,
    }
}

/// Runs everything the arguments ask for; returns the process exit code.
pub fn run(args: RunArgs) -> i32 {
    let started = Instant::now();
    let load_start = load_avg();
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| target_dir().join("versus"));
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("versus: cannot create {}: {e}", out_dir.display());
        return 1;
    }
    let Plan {
        echo: echo_contenders,
        http: http_contenders,
        file: file_contenders,
        client,
        perf_available,
        mut notes,
    } = plan(&args, load_start);
    let mut ctx = Ctx {
        args,
        client_cores: client.clone(),
        perf_available,
        bar: None,
        steps: Cell::new(0),
    };
    let dataset = prepare_files(&ctx, &file_contenders, &out_dir, &mut notes);
    let workloads = dataset
        .as_ref()
        .map(|ds| file::plan(&ctx, ds, &mut notes))
        .unwrap_or_default();
    let total = echo::planned_steps(&ctx, &echo_contenders)
        + http::planned_steps(&ctx, &http_contenders)
        + file::planned_steps(&ctx, &workloads, &file_contenders);
    ctx.bar = progress(ctx.args.progress, total);
    for n in &notes {
        ctx.println(&format!("note: {n}"));
    }
    let (echo_cells, echo_runs) = if echo_contenders.is_empty() {
        Default::default()
    } else {
        echo::run_matrix(&ctx, &echo_contenders)
    };
    let (http_cells, http_runs) = if http_contenders.is_empty() {
        Default::default()
    } else {
        http::run_matrix(&ctx, &http_contenders)
    };
    let (file_cells, file_runs) = match &dataset {
        Some(ds) if !workloads.is_empty() => {
            if let Err(e) = ds.warm_cache() {
                notes.push(format!("could not pre-read the data file: {e}"));
            }
            file::run_matrix(&ctx, ds, &workloads, &file_contenders, &mut notes)
        }
        _ => Default::default(),
    };
    if let Some(bar) = &ctx.bar {
        bar.finish_and_clear();
    }
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: machine(&ctx.args.server_cores, &client, load_start),
        echo_mode: ctx.args.rate.map_or("closed loop".into(), |r| {
            format!("open loop, {r} round trips/s")
        }),
        echo: echo_cells,
        echo_runs,
        http: http_cells,
        http_runs,
        file: file_cells,
        file_runs,
        notes,
        far_ns: ctx.args.far_ns,
        wall_s: started.elapsed().as_secs_f64(),
    };
    report::emit(&report, &out_dir)
}

fn prepare_files(
    ctx: &Ctx,
    contenders: &[String],
    out_dir: &Path,
    notes: &mut Vec<String>,
) -> Option<Dataset> {
    if contenders.is_empty() {
        return None;
    }
    let t = Instant::now();
    match Dataset::prepare(out_dir, ctx.args.file_size) {
        Ok((ds, created)) => {
            if created {
                ctx.println(&format!(
                    "created the data files under {} in {:.1} s",
                    out_dir.display(),
                    t.elapsed().as_secs_f64()
                ));
            }
            Some(ds)
        }
        Err(e) => {
            notes.push(format!(
                "file part skipped: cannot create the data files: {e}"
            ));
            None
        }
    }
}
