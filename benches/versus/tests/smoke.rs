//! Smoke test: a tiny matrix (one echo cell, one HTTP cell, one file workload, 1 s, 1 repetition)
//! run end to end
//! through the real binary; every available contender must produce a non-zero, verified result
//! and the three output files must be written.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ringbolt_versus::child::run_with_timeout;
use ringbolt_versus::report::json;

const WORKLOAD: &str = "randread-4k-qd32";

#[test]
fn tiny_matrix_every_contender_verified() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("versus-smoke");
    let _ = std::fs::remove_file(out.join("results.json"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringbolt-versus"));
    cmd.args([
        "--conns",
        "16",
        "--sizes",
        "1K",
        "--duration",
        "1s",
        "--warmup",
        "100ms",
        "--reps",
        "1",
        "--far-retries",
        "0",
        "--qds",
        "32",
        "--workloads",
        WORKLOAD,
        "--file-size",
        "16M",
        "--file-duration",
        "300ms",
        "--file-reps",
        "1",
        "--no-progress",
        "--out-dir",
    ])
    .arg(&out);
    let (ok, stdout, stderr) =
        run_with_timeout(&mut cmd, Duration::from_secs(50)).expect("runner finishes within 50 s");
    assert!(ok, "runner failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    let report = json::from_str(&text).expect("results.json parses back into a Report");

    let echo = ringbolt_versus::servers::available();
    assert!(
        echo.len() >= 4,
        "raw-uring, raw-epoll, tokio-mt and tokio-percore always run"
    );
    assert!(
        echo.contains(&"monoio"),
        "monoio is a default echo contender"
    );
    for contender in echo {
        let cell = report
            .echo
            .iter()
            .find(|c| c.contender == contender)
            .unwrap_or_else(|| panic!("no echo cell for {contender}\n{stdout}"));
        let krps = cell.krps.as_ref().map(|k| k.median).unwrap_or(0.0);
        assert!(krps > 0.0, "{contender}: no throughput: {:?}", cell.errors);
        assert!(cell.errors.is_empty(), "{contender}: {:?}", cell.errors);
        // 16 connections × 1 KiB × every round trip of a ≥ 1 s run.
        assert!(
            cell.verified_bytes >= 16 * 1024,
            "{contender}: {} bytes verified",
            cell.verified_bytes
        );
        assert!(cell.user_us_per_rt.is_some() && cell.sys_us_per_rt.is_some());
        if ringbolt_versus::servers::counts_own_syscalls(contender) {
            let sc = cell.syscalls_per_rt.unwrap_or(0.0);
            assert!(
                sc > 0.0,
                "{contender} reports its own syscalls over the control pipe"
            );
        }
    }

    for &contender in ringbolt_versus::servers::HTTP_CONTENDERS {
        let cell = report
            .http
            .iter()
            .find(|c| c.contender == contender)
            .unwrap_or_else(|| panic!("no HTTP cell for {contender}\n{stdout}"));
        let krps = cell.krps.as_ref().map(|k| k.median).unwrap_or(0.0);
        assert!(
            krps > 0.0,
            "http {contender}: no throughput: {:?}",
            cell.errors
        );
        assert!(
            cell.errors.is_empty(),
            "http {contender}: {:?}",
            cell.errors
        );
        // Every counted request's whole response (headers and body) was parsed and checked.
        assert!(
            cell.verified_bytes > 16 * 21,
            "http {contender}: too little verified"
        );
    }

    let (file, _) = ringbolt_versus::file::available();
    assert!(
        file.len() >= 4,
        "raw-uring, tokio-fs, tokio-blocking and std-pread always run"
    );
    assert!(
        file.contains(&"monoio"),
        "monoio is a default file contender"
    );
    for contender in file {
        let cell = report
            .file
            .iter()
            .find(|c| c.contender == contender && c.workload == WORKLOAD)
            .unwrap_or_else(|| panic!("no file cell for {contender}\n{stdout}"));
        let kiops = cell.kiops.as_ref().map(|k| k.median).unwrap_or(0.0);
        assert!(kiops > 0.0, "{contender}: no IOPS: {:?}", cell.errors);
        assert!(cell.verified_ops > 0, "{contender}: nothing verified");
    }

    let csv = std::fs::read_to_string(out.join("results.csv")).expect("results.csv written");
    assert!(csv.starts_with(ringbolt_versus::report::csv::HEADER));
    assert!(csv.lines().count() > report.echo.len() + report.http.len() + report.file.len());
    assert!(csv.contains("\nhttp,ringbolt,"), "HTTP rows in the CSV");
    assert!(
        csv.contains("\necho,monoio,") && csv.contains("\nfile,monoio,"),
        "monoio's echo and file rows in the CSV"
    );
    assert!(
        csv.contains("\necho,ringbolt-epoll,") && csv.contains("\nfile,ringbolt-epoll,"),
        "both ringbolt drivers have echo and file rows in the CSV"
    );
    let svg = std::fs::read_to_string(out.join("chart.svg")).expect("chart.svg written");
    assert!(
        svg.contains("<svg")
            && svg.contains("raw-uring")
            && svg.contains("monoio")
            && svg.contains("HTTP/1.1"),
        "chart names the contenders"
    );
}
