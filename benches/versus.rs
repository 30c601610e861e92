//! `cargo bench --bench versus`: ringbolt vs tokio vs monoio vs raw io_uring/epoll loops (and
//! fio). See `docs/benchmarks.md`; `cargo bench --bench versus -- --help` lists the options.
//!
//! This target is a launcher. The runner is the `ringbolt-versus` binary (`benches/versus`),
//! whose dependencies (tokio, hyper, monoio, plotters, ...) would otherwise be dev-dependencies
//! of `ringbolt` and be built with every example. The launcher has none: it has cargo build and
//! run the runner with the bench profile, into the same target directory, with its arguments,
//! and exits with the runner's status.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The target directory this launcher was built into (`<target>/<profile>/deps/versus-<hash>`),
/// if it can be found; cargo's own default otherwise.
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

fn main() -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "run",
        "--quiet",
        "--profile",
        "bench",
        "--package",
        "ringbolt-versus",
        "--bin",
        "ringbolt-versus",
    ]);
    if let Some(dir) = target_dir() {
        cmd.arg("--target-dir").arg(dir);
    }
    // `cargo bench` appends `--bench`; the runner accepts and ignores it.
    cmd.arg("--").args(std::env::args_os().skip(1));
    match cmd.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            // 2 for a bad command line, 1 for a failed run; a signal ends it with 1 too.
            ExitCode::from(status.code().map_or(1, |c| c.clamp(1, 255) as u8))
        }
        Err(e) => {
            eprintln!("versus: cannot run cargo to build and start the runner: {e}");
            ExitCode::FAILURE
        }
    }
}
