//! Outputs: the comparison table on stdout, `results.json`, `results.csv` and `chart.svg`.

use std::path::Path;

use crate::results::Report;

pub mod csv;
pub mod json;
pub mod svg;
pub mod table;

/// Prints the tables and writes the files; returns the exit code (non-zero when a file could
/// not be written or no contender produced any result).
pub fn emit(report: &Report, out_dir: &Path) -> i32 {
    print!("{}", table::render(report));
    let mut code = 0;
    let writes: [(&str, Result<String, String>); 3] = [
        ("results.json", json::to_string(report)),
        ("results.csv", Ok(csv::render(report))),
        ("chart.svg", svg::render(report)),
    ];
    for (name, content) in writes {
        let path = out_dir.join(name);
        match content.and_then(|c| std::fs::write(&path, c).map_err(|e| e.to_string())) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("versus: {}: {e}", path.display());
                code = 1;
            }
        }
    }
    let any = report.echo.iter().any(|c| c.krps.is_some())
        || report.http.iter().any(|c| c.krps.is_some())
        || report.file.iter().any(|c| c.kiops.is_some());
    if !any {
        eprintln!("versus: no contender produced a result");
        code = 1;
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{
        fill_echo_ratios, fill_file_ratios, EchoCell, EchoRun, FileCell, FileRun, Machine,
    };

    fn run(contender: &str, rps: f64) -> EchoRun {
        EchoRun {
            contender: contender.into(),
            conns: 64,
            size: 64,
            rep: 0,
            attempt: 0,
            rps,
            round_trips: (rps * 2.0) as u64,
            p50_us: 90.0,
            p99_us: 150.0,
            p999_us: 300.0,
            user_us_per_rt: 0.1,
            sys_us_per_rt: 1.6,
            syscalls_per_rt: None,
            client_us_per_rt: 1.5,
            probe_before_ns: Some(120.0),
            probe_after_ns: Some(140.0),
            far: false,
            verified_bytes: 1 << 20,
            dropped: 0,
        }
    }

    fn sample() -> Report {
        let mut echo: Vec<EchoCell> = [
            ("tokio-mt", 500e3),
            ("tokio-percore", 540e3),
            ("raw-uring", 600e3),
        ]
        .iter()
        .map(|&(c, rps)| {
            EchoCell::from_runs(
                c,
                64,
                64,
                &[run(c, rps), run(c, rps * 1.02), run(c, rps * 0.99)],
                vec![],
            )
        })
        .collect();
        fill_echo_ratios(&mut echo);
        let mut http: Vec<EchoCell> = [("ringbolt", 90e3), ("tokio-mt", 70e3)]
            .iter()
            .map(|&(c, rps)| EchoCell::from_runs(c, 64, 21, &[run(c, rps)], vec![]))
            .collect();
        fill_echo_ratios(&mut http);
        let frun = |c: &str, iops: f64| FileRun {
            contender: c.into(),
            workload: "randread-4k-qd32".into(),
            rep: 0,
            iops,
            mib_s: iops * 4096.0 / 1048576.0,
            p50_us: 10.0,
            p99_us: 20.0,
            cpu_us_per_op: 0.5,
            ops: iops as u64,
            verified_ops: iops as u64,
            threads: 1,
        };
        let mut file = vec![
            FileCell::from_runs(
                "raw-uring",
                "randread-4k-qd32",
                &[frun("raw-uring", 1.6e6)],
                vec![],
            ),
            FileCell::from_runs(
                "tokio-fs",
                "randread-4k-qd32",
                &[frun("tokio-fs", 1.6e5)],
                vec!["a \"quoted\" error".into()],
            ),
        ];
        fill_file_ratios(&mut file);
        Report {
            command: "versus --bench".into(),
            machine: Machine {
                kernel: "Linux 6.1".into(),
                cpu: "cpu".into(),
                cpus: 2,
                server_cores: vec![0],
                client_cores: vec![1],
                load_avg_start: 0.1,
                load_avg_end: 0.2,
            },
            echo_mode: "closed loop".into(),
            echo,
            echo_runs: vec![run("raw-uring", 600e3)],
            http,
            http_runs: vec![],
            file,
            file_runs: vec![frun("raw-uring", 1.6e6)],
            notes: vec!["a note".into()],
            far_ns: 350.0,
            wall_s: 1.0,
        }
    }

    #[test]
    fn ratios_use_the_better_tokio_and_raw_uring() {
        let r = sample();
        let raw = r
            .echo
            .iter()
            .find(|c| c.contender == "raw-uring")
            .expect("raw cell");
        assert!((raw.vs_best_tokio.expect("ratio") - 600.0 / 540.0).abs() < 1e-9);
        assert_eq!(raw.vs_raw_uring, Some(1.0));
        assert_eq!(raw.krps.as_ref().map(|k| k.median), Some(600.0));
        assert!((r.file[1].vs_raw_uring.expect("ratio") - 0.1).abs() < 1e-9);
        assert!((r.file[0].vs_tokio_fs.expect("ratio") - 10.0).abs() < 1e-9);
    }

    #[test]
    fn json_round_trips() {
        let r = sample();
        let text = json::to_string(&r).expect("serialize");
        assert_eq!(json::from_str(&text).expect("parse"), r);
        assert!(json::from_str("{\"command\": 1}").is_err());
    }

    #[test]
    fn csv_rows_and_quoting() {
        let csv = csv::render(&sample());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], csv::HEADER);
        assert_eq!(lines.len(), 1 + 3 + 2 + 2);
        let cols = csv::HEADER.split(',').count();
        assert!(lines[1].starts_with("echo,tokio-mt,64x64,500.0000,"));
        assert_eq!(lines[1].split(',').count(), cols);
        assert!(lines[4].starts_with("http,ringbolt,64x21,"), "{}", lines[4]);
        assert!(
            lines[7].ends_with("\"a \"\"quoted\"\" error\""),
            "{}",
            lines[5]
        );
    }

    #[test]
    fn table_and_svg_name_every_contender() {
        let r = sample();
        let text = table::render(&r);
        assert!(
            text.contains("1.11x"),
            "raw-uring vs tokio-percore ratio:\n{text}"
        );
        let svg = svg::render(&r).expect("svg");
        for name in [
            "tokio-mt",
            "tokio-percore",
            "raw-uring",
            "tokio-fs",
            "64 x 64 B",
        ] {
            assert!(svg.contains(name), "{name} missing from the chart");
        }
        assert!(svg.contains("HTTP/1.1 keep-alive"), "no HTTP panel");
        let empty = Report {
            echo: vec![],
            http: vec![],
            file: vec![],
            ..r
        };
        assert!(svg::render(&empty).is_err());
    }
}
