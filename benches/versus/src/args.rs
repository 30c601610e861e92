//! Command-line parsing for the runner and its hidden child-process subcommands.
//!
//! Rules:
//! 1. `--bench` (which `cargo bench` appends) is accepted anywhere and ignored.
//! 2. `--full` changes the defaults only; explicit flags win whatever their position.
//! 3. Hidden subcommands (`--serve`, `--file-worker`) are how the runner re-executes itself to
//!    put a server or a file contender in its own pinned process; users never type them.

use std::path::PathBuf;
use std::time::Duration;

/// What the process was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the benchmark matrix (the default).
    Run(Box<RunArgs>),
    /// Child process: serve echo for one contender.
    Serve(ServeArgs),
    /// Child process: run one file contender with a JSON-encoded spec.
    FileWorker {
        /// Contender name.
        contender: String,
        /// `FileSpec` as JSON.
        spec_json: String,
    },
    /// Print usage.
    Help,
}

/// Arguments of the hidden `--serve` subcommand.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeArgs {
    /// Contender name, e.g. `raw-uring`.
    pub contender: String,
    /// Cores the server threads are pinned to (one server thread per core).
    pub cores: Vec<usize>,
    /// Per-connection buffer size in bytes.
    pub buf_size: usize,
}

/// Arguments of a benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunArgs {
    /// Run the echo part.
    pub echo: bool,
    /// Run the file part.
    pub file: bool,
    /// Run the HTTP part (keep-alive `GET`s against the same hyper service on each runtime).
    pub http: bool,
    /// Echo contenders to run (`None`: every available one).
    pub contenders: Option<Vec<String>>,
    /// File contenders to run (`None`: every available one).
    pub file_contenders: Option<Vec<String>>,
    /// Connection counts.
    pub conns: Vec<usize>,
    /// Message sizes in bytes.
    pub sizes: Vec<usize>,
    /// Measured window of one echo run.
    pub duration: Duration,
    /// Warm-up before each echo measurement window.
    pub warmup: Duration,
    /// Repetitions per echo cell (interleaved across contenders).
    pub reps: usize,
    /// Open-loop target rate in round trips per second (`None`: closed loop).
    pub rate: Option<u64>,
    /// The load generator busy-polls instead of sleeping (on its own cores only).
    pub spin: bool,
    /// Cores the servers (and file contenders) are pinned to.
    pub server_cores: Vec<usize>,
    /// Cores the load generator is pinned to (`None`: every other online CPU).
    pub client_cores: Option<Vec<usize>>,
    /// Probe value (ns per bounce) above which a run counts as measured in the "far" state.
    pub far_ns: f64,
    /// Extra attempts for a run measured in the far state.
    pub far_retries: usize,
    /// Count syscalls of servers that do not count their own, with `perf stat`, in a short extra run.
    pub perf_syscalls: bool,
    /// File workload filter (substrings of workload names; `None`: all).
    pub workloads: Option<Vec<String>>,
    /// Queue depths for random reads.
    pub qds: Vec<usize>,
    /// Size of the data file.
    pub file_size: u64,
    /// Measured window of one file run.
    pub file_duration: Duration,
    /// Repetitions per file cell.
    pub file_reps: usize,
    /// Output directory (`None`: `<cargo target dir>/versus`).
    pub out_dir: Option<PathBuf>,
    /// Show the progress bar.
    pub progress: bool,
    /// `--full` was given.
    pub full: bool,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            echo: true,
            file: true,
            http: true,
            contenders: None,
            file_contenders: None,
            conns: vec![1, 64, 256],
            sizes: vec![64, 16384],
            duration: Duration::from_secs(2),
            warmup: Duration::from_millis(200),
            reps: 3,
            rate: None,
            spin: false,
            server_cores: vec![0],
            client_cores: None,
            far_ns: 350.0,
            far_retries: 2,
            perf_syscalls: true,
            workloads: None,
            qds: vec![1, 32, 128],
            file_size: 1 << 30,
            file_duration: Duration::from_millis(500),
            file_reps: 1,
            out_dir: None,
            progress: true,
            full: false,
        }
    }
}

impl RunArgs {
    /// The `--full` matrix: adds C = 16 and S = 1 KiB, 5-second echo runs, longer file runs.
    fn apply_full(&mut self) {
        self.full = true;
        self.conns = vec![1, 16, 64, 256];
        self.sizes = vec![64, 1024, 16384];
        self.duration = Duration::from_secs(5);
        self.file_duration = Duration::from_secs(2);
        self.file_reps = 3;
    }
}

/// Usage text printed by `--help`.
pub const USAGE: &str = "\
ringbolt-versus: head-to-head echo and file benchmarks (ringbolt, tokio, raw io_uring/epoll, fio)

USAGE: cargo bench --bench versus [-- OPTIONS]

  --full                  whole matrix: C in {1,16,64,256}, S in {64,1K,16K}, 5 s runs
  --echo-only | --file-only | --http-only
  --no-http               skip the HTTP part (hyper on ringbolt vs tokio; runs take half of --duration)
  --contenders LIST       echo contenders (ringbolt,tokio-mt,tokio-percore,raw-uring,raw-epoll;
                          opt-in: ringbolt-poll, the readiness path); also filters HTTP contenders
  --file-contenders LIST  file contenders (ringbolt,raw-uring,tokio-fs,tokio-blocking,std-pread,
                          fio-uring,fio-psync)
  --conns LIST            connection counts (default 1,64,256)
  --sizes LIST            message sizes, e.g. 64,1K,16K (default 64,16K)
  --duration D            echo measurement window, e.g. 2s, 500ms (default 2s)
  --warmup D              echo warm-up before each window (default 200ms)
  --reps N                interleaved repetitions per echo cell (default 3)
  --rate R                open-loop mode: R round trips/s in total (default: closed loop)
  --spin                  load generator busy-polls instead of sleeping (quiet machines only:
                          on a shared one it loses its core to other work for whole ticks)
  --cores LIST            server cores (default 0); also --server-cores
  --client-cores LIST     load generator cores (default: all other CPUs)
  --far-ns NS             probe threshold for the far state (default 350)
  --far-retries N         re-runs of a run measured in the far state (default 2)
  --no-perf               do not count tokio/ringbolt syscalls with perf stat
  --workloads LIST        file workloads by name (randread-4k-qd32, seqread-128k-qd1, ...);
                          a trailing * matches a prefix (randread*)
  --qds LIST              random-read queue depths (default 1,32,128)
  --file-size SIZE        data file size (default 1G)
  --file-duration D       file measurement window (default 500ms)
  --file-reps N           repetitions per file cell (default 1)
  --out-dir PATH          output directory (default target/versus)
  --no-progress           no progress bar
";

/// Parses the process arguments (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let args: Vec<String> = args.into_iter().filter(|a| a != "--bench").collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    match args.first().map(String::as_str) {
        Some("--serve") => parse_serve(&args[1..]),
        Some("--file-worker") => match &args[1..] {
            [contender, spec] => Ok(Command::FileWorker {
                contender: contender.clone(),
                spec_json: spec.clone(),
            }),
            _ => Err("--file-worker needs CONTENDER SPEC_JSON".into()),
        },
        _ => parse_run(&args).map(|a| Command::Run(Box::new(a))),
    }
}

fn parse_serve(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter();
    let contender = it.next().ok_or("--serve needs a contender")?.clone();
    let mut serve = ServeArgs {
        contender,
        cores: vec![0],
        buf_size: 64 * 1024,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--cores" => serve.cores = parse_cores(value()?)?,
            "--buf" => serve.buf_size = parse_size(value()?)? as usize,
            other => return Err(format!("unknown --serve option {other}")),
        }
    }
    Ok(Command::Serve(serve))
}

fn parse_run(args: &[String]) -> Result<RunArgs, String> {
    let mut run = RunArgs::default();
    if args.iter().any(|a| a == "--full") {
        run.apply_full();
    }
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--full" => {}
            "--echo-only" => (run.echo, run.file, run.http) = (true, false, false),
            "--file-only" => (run.echo, run.file, run.http) = (false, true, false),
            "--http-only" => (run.echo, run.file, run.http) = (false, false, true),
            "--no-http" => run.http = false,
            "--contenders" => run.contenders = Some(parse_names(value()?)),
            "--file-contenders" => run.file_contenders = Some(parse_names(value()?)),
            "--conns" => run.conns = parse_list(value()?, |s| parse_size(s).map(|v| v as usize))?,
            "--sizes" => run.sizes = parse_list(value()?, |s| parse_size(s).map(|v| v as usize))?,
            "--duration" => run.duration = parse_duration(value()?)?,
            "--warmup" => run.warmup = parse_duration(value()?)?,
            "--reps" => run.reps = parse_count(value()?)?,
            "--rate" => run.rate = Some(parse_size(value()?)?),
            "--spin" => run.spin = true,
            "--cores" | "--server-cores" => run.server_cores = parse_cores(value()?)?,
            "--client-cores" => run.client_cores = Some(parse_cores(value()?)?),
            "--far-ns" => {
                run.far_ns = value()?.parse().map_err(|e| format!("--far-ns: {e}"))?;
            }
            "--far-retries" => {
                run.far_retries = value()?
                    .parse()
                    .map_err(|e| format!("--far-retries: {e}"))?;
            }
            "--no-perf" => run.perf_syscalls = false,
            "--workloads" => run.workloads = Some(parse_names(value()?)),
            "--qds" => run.qds = parse_list(value()?, parse_count)?,
            "--file-size" => run.file_size = parse_size(value()?)?,
            "--file-duration" => run.file_duration = parse_duration(value()?)?,
            "--file-reps" => run.file_reps = parse_count(value()?)?,
            "--out-dir" => run.out_dir = Some(PathBuf::from(value()?)),
            "--no-progress" => run.progress = false,
            other => return Err(format!("unknown option {other} (try --help)")),
        }
    }
    if run.conns.contains(&0) || run.sizes.contains(&0) {
        return Err("connection counts and sizes must be > 0".into());
    }
    Ok(run)
}

fn parse_names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

fn parse_list<T>(s: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    let items: Vec<T> = parse_names(s)
        .iter()
        .map(|x| f(x))
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(format!("empty list: {s:?}"));
    }
    Ok(items)
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err(format!("{s:?} must be at least 1")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

/// Parses `64`, `16K`, `16KiB`, `1M`, `1G` (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let mult: u64 = match &lower[digits.len()..] {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("{t:?}: unknown unit {other:?}")),
    };
    let n: u64 = digits.parse().map_err(|e| format!("{t:?}: {e}"))?;
    n.checked_mul(mult).ok_or(format!("{t:?} is too large"))
}

/// Parses `2`, `2s`, `1.5s`, `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.parse().map_err(|e| format!("{t:?}: {e}"))?;
    if !(v > 0.0 && v.is_finite()) {
        return Err(format!("{t:?}: duration must be positive"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

/// Parses a CPU list: `0`, `0,2`, `0-3`.
pub fn parse_cores(s: &str) -> Result<Vec<usize>, String> {
    let mut cores = Vec::new();
    for part in parse_names(s) {
        let bad = |e: std::num::ParseIntError| format!("{part:?}: {e}");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().map_err(bad)?, b.parse().map_err(bad)?);
                if a > b || b - a > 4096 {
                    return Err(format!("bad core range {part:?}"));
                }
                cores.extend(a..=b);
            }
            None => cores.push(part.parse().map_err(bad)?),
        }
    }
    if cores.is_empty() {
        return Err(format!("empty core list {s:?}"));
    }
    cores.dedup();
    Ok(cores)
}

/// Formats a CPU list the way [`parse_cores`] reads it.
pub fn format_cores(cores: &[usize]) -> String {
    cores
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> RunArgs {
        match parse(args.iter().map(|s| s.to_string())) {
            Ok(Command::Run(r)) => *r,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_cargo_bench_flag() {
        let r = run(&["--bench"]);
        assert_eq!(r, RunArgs::default());
        assert_eq!(r.conns, vec![1, 64, 256]);
        assert_eq!(r.sizes, vec![64, 16384]);
        assert_eq!(r.duration, Duration::from_secs(2));
        assert!(r.reps >= 3);
    }

    #[test]
    fn full_then_explicit_flags_win() {
        let r = run(&["--duration", "1s", "--full", "--bench"]);
        assert!(r.full);
        assert_eq!(r.conns, vec![1, 16, 64, 256]);
        assert_eq!(r.sizes, vec![64, 1024, 16384]);
        assert_eq!(r.duration, Duration::from_secs(1));
    }

    #[test]
    fn lists_sizes_durations_cores() {
        let r = run(&[
            "--echo-only",
            "--sizes",
            "64,1K,16KiB",
            "--conns",
            "1,16",
            "--duration",
            "500ms",
            "--cores",
            "0-1",
            "--client-cores",
            "2,3",
            "--contenders",
            "raw-uring, tokio-mt",
            "--rate",
            "10k",
        ]);
        assert!(r.echo && !r.file);
        assert_eq!(r.sizes, vec![64, 1024, 16384]);
        assert_eq!(r.conns, vec![1, 16]);
        assert_eq!(r.duration, Duration::from_millis(500));
        assert_eq!(r.server_cores, vec![0, 1]);
        assert_eq!(r.client_cores, Some(vec![2, 3]));
        assert_eq!(
            r.contenders,
            Some(vec!["raw-uring".to_string(), "tokio-mt".to_string()])
        );
        assert_eq!(r.rate, Some(10240));
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        for bad in [
            &["--reps", "0"][..],
            &["--sizes", "12Q"],
            &["--duration", "-1"],
            &["--conns"],
            &["--whatever"],
            &["--cores", "3-1"],
            &["--conns", "0"],
        ] {
            let res = parse(bad.iter().map(|s| s.to_string()));
            assert!(res.is_err(), "{bad:?} should fail, got {res:?}");
        }
    }

    #[test]
    fn hidden_subcommands() {
        let serve =
            parse(["--serve", "raw-epoll", "--cores", "0,1", "--buf", "4K"].map(String::from));
        assert_eq!(
            serve,
            Ok(Command::Serve(ServeArgs {
                contender: "raw-epoll".into(),
                cores: vec![0, 1],
                buf_size: 4096
            }))
        );
        let fw = parse(["--file-worker", "std-pread", "{}"].map(String::from));
        assert!(
            matches!(fw, Ok(Command::FileWorker { ref contender, .. }) if contender == "std-pread")
        );
        assert_eq!(parse(["--help".to_string()]), Ok(Command::Help));
    }

    #[test]
    fn size_units() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("99999999999999G").is_err());
        assert_eq!(
            format_cores(&parse_cores("0-2,5").unwrap_or_default()),
            "0,1,2,5"
        );
    }
}
