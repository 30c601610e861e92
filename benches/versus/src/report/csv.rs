//! `results.csv`: one row per cell, echo, HTTP and file in one file (`part` column tells which).
//! `vs_tokio` is the ratio to the better tokio setup for echo, to `tokio::fs` for file.

use crate::results::Report;

/// Header of `results.csv`.
pub const HEADER: &str = "part,contender,cell,median,min,max,spread,unit,vs_tokio,vs_raw_uring,\
p50_us,p99_us,p999_us,user_us_per_op,sys_us_per_op,cpu_us_per_op,syscalls_per_op,client_us_per_op,probe_max_ns,far_runs,errors";

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Renders the CSV.
pub fn render(report: &Report) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    let tcp = report
        .echo
        .iter()
        .map(|c| ("echo", c))
        .chain(report.http.iter().map(|c| ("http", c)));
    for (part, c) in tcp {
        let k = c.krps.as_ref();
        let row = [
            part.to_string(),
            c.contender.clone(),
            format!("{}x{}", c.conns, c.size),
            opt(k.map(|s| s.median)),
            opt(k.map(|s| s.min)),
            opt(k.map(|s| s.max)),
            opt(k.map(|s| s.spread)),
            "krps".into(),
            opt(c.vs_best_tokio),
            opt(c.vs_raw_uring),
            opt(c.p50_us),
            opt(c.p99_us),
            opt(c.p999_us),
            opt(c.user_us_per_rt),
            opt(c.sys_us_per_rt),
            opt(c.user_us_per_rt.zip(c.sys_us_per_rt).map(|(u, s)| u + s)),
            opt(c.syscalls_per_rt),
            opt(c.client_us_per_rt),
            opt(c.probe_max_ns),
            c.far_runs.to_string(),
            quote(&c.errors.join("; ")),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    for c in &report.file {
        let k = c.kiops.as_ref();
        let row = [
            "file".to_string(),
            c.contender.clone(),
            c.workload.clone(),
            opt(k.map(|s| s.median)),
            opt(k.map(|s| s.min)),
            opt(k.map(|s| s.max)),
            opt(k.map(|s| s.spread)),
            "kiops".into(),
            opt(c.vs_tokio_fs),
            opt(c.vs_raw_uring),
            opt(c.p50_us),
            opt(c.p99_us),
            String::new(),
            String::new(),
            String::new(),
            opt(c.cpu_us_per_op),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            quote(&c.errors.join("; ")),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
