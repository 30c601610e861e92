//! Command line of the runner and of its hidden child-process subcommands (clap derive).
//!
//! Rules:
//! 1. `--bench` (which `cargo bench` appends) is accepted anywhere and ignored.
//! 2. `--full` changes the defaults only; explicit flags win whatever their position.
//! 3. Hidden subcommands (`--serve`, `--file-worker`) are how the runner re-executes itself to
//!    put a server or a file contender in its own pinned process; users never type them.
//! 4. Of `--echo-only`, `--file-only` and `--http-only`, the last one given wins.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::units::{parse_cores, parse_duration, parse_size, split_names};

/// What the process was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the benchmark matrix (the default).
    Run(Box<RunArgs>),
    /// Child process: serve echo (or HTTP) for one contender.
    Serve(ServeArgs),
    /// Child process: run one file contender with a JSON-encoded spec.
    FileWorker {
        /// Contender name.
        contender: String,
        /// `FileSpec` as JSON.
        spec_json: String,
    },
}

/// Arguments of the hidden `--serve` subcommand.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct ServeArgs {
    /// Contender name, e.g. `raw-uring`.
    pub contender: String,
    /// Cores the server threads are pinned to (one server thread per core).
    #[arg(long, value_parser = parse_cores, default_value = "0")]
    pub cores: ::std::vec::Vec<usize>,
    /// Per-connection buffer size in bytes.
    #[arg(long = "buf", value_parser = parse_usize_size, default_value = "64K")]
    pub buf_size: usize,
}

/// Arguments of a benchmark run, with every default resolved.
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
    /// The default run: C ∈ {1, 64, 256} × S ∈ {64 B, 16 KiB}, 1 s echo windows, 3 interleaved
    /// repetitions, 300 ms file windows, 3 interleaved repetitions. About 7 minutes on 2 vCPUs
    /// with monoio, HTTP and fio (see `docs/benchmarks.md`).
    fn default() -> Self {
        RunArgs {
            echo: true,
            file: true,
            http: true,
            contenders: None,
            file_contenders: None,
            conns: vec![1, 64, 256],
            sizes: vec![64, 16384],
            duration: Duration::from_secs(1),
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
            // Three short runs rather than one long one: on this VM one run in a few lands in
            // a slow patch of the host (a single-run cell read 0.50x the bare ring where the
            // median of three reads 1.00x), and a median of three drops it.
            file_duration: Duration::from_millis(300),
            file_reps: 3,
            out_dir: None,
            progress: true,
            full: false,
        }
    }
}

impl RunArgs {
    /// The `--full` matrix: adds C = 16 and S = 1 KiB, 5-second echo runs, 2-second file runs
    /// with 3 repetitions.
    fn full() -> Self {
        RunArgs {
            full: true,
            conns: vec![1, 16, 64, 256],
            sizes: vec![64, 1024, 16384],
            duration: Duration::from_secs(5),
            file_duration: Duration::from_secs(2),
            file_reps: 3,
            ..RunArgs::default()
        }
    }
}

/// What is printed after the options in `--help`.
const AFTER_HELP: &str = "\
Defaults (about 7 minutes on 2 vCPUs): C in {1,64,256} x S in {64 B,16 KiB}, 1 s echo windows
(HTTP: 0.5 s) after 200 ms of warm-up, 3 interleaved repetitions per cell (medians), file
windows of 300 ms, 3 interleaved repetitions. --full: C in {1,16,64,256} x S in {64 B,1 KiB,16 KiB}, 5 s
echo windows, 2 s file windows, 3 file repetitions; explicit flags win over --full.
Results also land in target/versus/ (results.json, results.csv, chart.svg).";

/// The process's command line.
#[derive(Debug, Parser)]
#[command(
    name = "ringbolt-versus",
    about = "ringbolt-versus: head-to-head echo, HTTP and file benchmarks \
             (ringbolt, tokio, monoio, raw io_uring/epoll loops, fio)",
    override_usage = "cargo bench --bench versus [-- OPTIONS]",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    child: Option<ChildCommand>,
    #[command(flatten)]
    run: RunFlags,
}

/// The hidden subcommands a child process is started with.
#[derive(Debug, Subcommand)]
enum ChildCommand {
    /// Serve echo (or `http-*`) for one contender until stdin closes.
    #[command(long_flag = "serve", hide = true)]
    Serve(ServeArgs),
    /// Run one file contender and print a JSON report.
    #[command(long_flag = "file-worker", hide = true)]
    FileWorker {
        /// Contender name.
        contender: String,
        /// `FileSpec` as JSON.
        spec_json: String,
    },
}

/// The run's flags as typed; `None` means "the default (of `--full` when given)".
#[derive(Debug, Args)]
struct RunFlags {
    /// Whole matrix: C in {1,16,64,256}, S in {64,1K,16K}, 5 s echo runs, longer file runs
    #[arg(long)]
    full: bool,
    /// Only the echo part
    #[arg(long, overrides_with_all = ["file_only", "http_only"])]
    echo_only: bool,
    /// Only the file part
    #[arg(long, overrides_with_all = ["echo_only", "http_only"])]
    file_only: bool,
    /// Only the HTTP part
    #[arg(long, overrides_with_all = ["echo_only", "file_only"])]
    http_only: bool,
    /// Skip the HTTP part (hyper on ringbolt vs tokio; runs take half of --duration)
    #[arg(long)]
    no_http: bool,
    /// Echo contenders (ringbolt,ringbolt-epoll,tokio-mt,tokio-percore,monoio,raw-uring,raw-epoll; opt-in:
    /// ringbolt-poll, the readiness path); also filters HTTP contenders
    #[arg(long, value_name = "LIST", value_parser = parse_name_list)]
    contenders: Option<::std::vec::Vec<String>>,
    /// File contenders (ringbolt,ringbolt-epoll,monoio,raw-uring,tokio-fs,tokio-blocking,std-pread,
    /// fio-uring,fio-psync)
    #[arg(long, value_name = "LIST", value_parser = parse_name_list)]
    file_contenders: Option<::std::vec::Vec<String>>,
    /// Connection counts [default: 1,64,256]
    #[arg(long, value_name = "LIST", value_parser = parse_size_list)]
    conns: Option<::std::vec::Vec<usize>>,
    /// Message sizes, e.g. 64,1K,16K [default: 64,16K]
    #[arg(long, value_name = "LIST", value_parser = parse_size_list)]
    sizes: Option<::std::vec::Vec<usize>>,
    /// Echo measurement window, e.g. 2s, 500ms [default: 1s]
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Echo warm-up before each window [default: 200ms]
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Interleaved repetitions per echo cell [default: 3]
    #[arg(long, value_name = "N", value_parser = parse_count)]
    reps: Option<usize>,
    /// Open-loop mode: R round trips/s in total [default: closed loop]
    #[arg(long, value_name = "R", value_parser = parse_size)]
    rate: Option<u64>,
    /// Load generator busy-polls instead of sleeping (quiet machines only: on a shared one it
    /// loses its core to other work for whole ticks)
    #[arg(long)]
    spin: bool,
    /// Server cores [default: 0]
    #[arg(long, visible_alias = "server-cores", value_name = "LIST", value_parser = parse_cores)]
    cores: Option<::std::vec::Vec<usize>>,
    /// Load generator cores [default: all other CPUs]
    #[arg(long, value_name = "LIST", value_parser = parse_cores)]
    client_cores: Option<::std::vec::Vec<usize>>,
    /// Probe threshold for the far state, ns per bounce [default: 350]
    #[arg(long, value_name = "NS")]
    far_ns: Option<f64>,
    /// Re-runs of a run measured in the far state [default: 2]
    #[arg(long, value_name = "N")]
    far_retries: Option<usize>,
    /// Do not count tokio/ringbolt/monoio syscalls with perf stat
    #[arg(long)]
    no_perf: bool,
    /// File workloads by name (randread-4k-qd32, seqread-128k-qd1, ...); a trailing * matches
    /// a prefix (randread*)
    #[arg(long, value_name = "LIST", value_parser = parse_name_list)]
    workloads: Option<::std::vec::Vec<String>>,
    /// Random-read queue depths [default: 1,32,128]
    #[arg(long, value_name = "LIST", value_parser = parse_count_list)]
    qds: Option<::std::vec::Vec<usize>>,
    /// Data file size [default: 1G]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    file_size: Option<u64>,
    /// File measurement window [default: 500ms]
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    file_duration: Option<Duration>,
    /// Repetitions per file cell [default: 1]
    #[arg(long, value_name = "N", value_parser = parse_count)]
    file_reps: Option<usize>,
    /// Output directory [default: target/versus]
    #[arg(long, value_name = "PATH")]
    out_dir: Option<PathBuf>,
    /// No progress bar
    #[arg(long)]
    no_progress: bool,
}

impl RunFlags {
    /// The defaults (or `--full`'s), overridden by every flag given.
    fn resolve(self) -> RunArgs {
        let base = if self.full {
            RunArgs::full()
        } else {
            RunArgs::default()
        };
        let (echo, file, http) = if self.echo_only {
            (true, false, false)
        } else if self.file_only {
            (false, true, false)
        } else if self.http_only {
            (false, false, true)
        } else {
            (base.echo, base.file, base.http)
        };
        RunArgs {
            echo,
            file,
            http: http && !self.no_http,
            contenders: self.contenders,
            file_contenders: self.file_contenders,
            conns: self.conns.unwrap_or(base.conns),
            sizes: self.sizes.unwrap_or(base.sizes),
            duration: self.duration.unwrap_or(base.duration),
            warmup: self.warmup.unwrap_or(base.warmup),
            reps: self.reps.unwrap_or(base.reps),
            rate: self.rate,
            spin: self.spin,
            server_cores: self.cores.unwrap_or(base.server_cores),
            client_cores: self.client_cores,
            far_ns: self.far_ns.unwrap_or(base.far_ns),
            far_retries: self.far_retries.unwrap_or(base.far_retries),
            perf_syscalls: !self.no_perf,
            workloads: self.workloads,
            qds: self.qds.unwrap_or(base.qds),
            file_size: self.file_size.unwrap_or(base.file_size),
            file_duration: self.file_duration.unwrap_or(base.file_duration),
            file_reps: self.file_reps.unwrap_or(base.file_reps),
            out_dir: self.out_dir,
            progress: !self.no_progress,
            full: self.full,
        }
    }
}

/// Parses the process arguments (without the program name).
///
/// # Errors
/// clap's error for a bad command line, and for `--help` (kind `DisplayHelp`): the caller
/// prints it and exits with its code (`clap::Error::exit`).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, clap::Error> {
    let argv = std::iter::once("ringbolt-versus".to_string())
        .chain(args.into_iter().filter(|a| a != "--bench"));
    let cli = Cli::try_parse_from(argv)?;
    Ok(match cli.child {
        Some(ChildCommand::Serve(serve)) => Command::Serve(serve),
        Some(ChildCommand::FileWorker {
            contender,
            spec_json,
        }) => Command::FileWorker {
            contender,
            spec_json,
        },
        None => Command::Run(Box::new(cli.run.resolve())),
    })
}

fn parse_name_list(s: &str) -> Result<Vec<String>, String> {
    let names = split_names(s);
    if names.is_empty() {
        return Err(format!("empty list: {s:?}"));
    }
    Ok(names)
}

fn parse_usize_size(s: &str) -> Result<usize, String> {
    let v = parse_size(s)?;
    usize::try_from(v).map_err(|_| format!("{s:?} is too large"))
}

/// A list of sizes (connection counts, message sizes), each at least 1.
fn parse_size_list(s: &str) -> Result<Vec<usize>, String> {
    let items = parse_name_list(s)?
        .iter()
        .map(|x| parse_usize_size(x))
        .collect::<Result<Vec<_>, _>>()?;
    if items.contains(&0) {
        return Err("connection counts and sizes must be > 0".into());
    }
    Ok(items)
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(format!("{s:?} must be at least 1")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

fn parse_count_list(s: &str) -> Result<Vec<usize>, String> {
    parse_name_list(s)?.iter().map(|x| parse_count(x)).collect()
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
        assert_eq!(r.duration, Duration::from_secs(1));
        assert!(
            r.reps >= 3,
            "medians need at least 3 interleaved repetitions"
        );
        assert!(r.echo && r.file && r.http && r.progress && r.perf_syscalls);
    }

    #[test]
    fn full_then_explicit_flags_win() {
        let r = run(&["--duration", "1s", "--full", "--bench"]);
        assert!(r.full);
        assert_eq!(r.conns, vec![1, 16, 64, 256]);
        assert_eq!(r.sizes, vec![64, 1024, 16384]);
        assert_eq!(r.duration, Duration::from_secs(1));
        assert_eq!(r.file_reps, 3);
        let r = run(&["--full", "--file-reps", "2"]);
        assert_eq!((r.duration, r.file_reps), (Duration::from_secs(5), 2));
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
            "--qds",
            "1,8",
            "--file-size",
            "16M",
        ]);
        assert!(r.echo && !r.file && !r.http);
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
        assert_eq!(r.qds, vec![1, 8]);
        assert_eq!(r.file_size, 16 << 20);
        assert_eq!(run(&["--server-cores", "1"]).server_cores, vec![1]);
    }

    #[test]
    fn part_selection_last_wins_and_no_http() {
        let r = run(&["--echo-only", "--file-only"]);
        assert!(!r.echo && r.file && !r.http);
        let r = run(&["--no-http"]);
        assert!(r.echo && r.file && !r.http);
        let r = run(&["--http-only"]);
        assert!(!r.echo && !r.file && r.http);
        let r = run(&["--no-perf", "--no-progress", "--spin"]);
        assert!(!r.perf_syscalls && !r.progress && r.spin);
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
            &["--qds", ","],
            &["--serve", "raw-epoll", "--reps", "3"],
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
            serve.ok(),
            Some(Command::Serve(ServeArgs {
                contender: "raw-epoll".into(),
                cores: vec![0, 1],
                buf_size: 4096
            }))
        );
        let serve = parse(["--serve", "monoio"].map(String::from));
        assert_eq!(
            serve.ok(),
            Some(Command::Serve(ServeArgs {
                contender: "monoio".into(),
                cores: vec![0],
                buf_size: 64 * 1024
            }))
        );
        let fw = parse(["--file-worker", "std-pread", "{}"].map(String::from));
        assert!(
            matches!(fw, Ok(Command::FileWorker { ref contender, ref spec_json })
                if contender == "std-pread" && spec_json == "{}")
        );
    }

    #[test]
    fn help_is_an_error_of_its_own_kind_and_hides_children() {
        let err = parse(["--help".to_string()]).expect_err("--help stops parsing");
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        let text = err.to_string();
        assert!(text.contains("--file-contenders"), "{text}");
        assert!(text.contains("about 7 minutes"), "{text}");
        assert!(
            !text.contains("Commands:") && !text.contains("--file-worker"),
            "{text}"
        );
        assert!(
            !text.contains("--serve ") && !text.contains("--serve,"),
            "{text}"
        );
    }
}
