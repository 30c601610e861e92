//! `ringbolt::metrics::render()` is valid Prometheus text (checked by a small parser of the
//! exposition format) and its counters and histograms move with traffic: in process over a
//! ringbolt TCP echo, and through `examples/metrics_http` run as its built binary.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One parsed exposition: sample (`name{labels}`) -> value; checks the format on the way.
type Samples = BTreeMap<String, f64>;

fn valid_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

/// Parses `k="v",k2="v2"`; panics on anything else.
fn parse_labels(s: &str, line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .unwrap_or_else(|| panic!("label without '=': {line}"));
        let key = &rest[..eq];
        assert!(valid_name(key), "bad label name {key:?}: {line}");
        rest = &rest[eq + 1..];
        assert!(rest.starts_with('"'), "label value not quoted: {line}");
        let mut value = String::new();
        let mut chars = rest[1..].char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i + 1,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?}: {line}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        out.push((key.to_string(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else {
            assert!(rest.is_empty(), "junk after label: {line}");
        }
    }
    out
}

fn parse_value(v: &str, line: &str) -> f64 {
    match v {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => v
            .parse()
            .unwrap_or_else(|_| panic!("bad sample value {v:?}: {line}")),
    }
}

/// Parses the text format 0.0.4 strictly enough to catch what Prometheus would reject:
/// names, labels, values, TYPE before samples, one TYPE per family, histograms with cumulative
/// buckets ending in `+Inf` equal to `_count`.
fn parse(text: &str) -> Samples {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Samples::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(valid_name(name), "bad metric name in comment: {line}");
            match kw {
                "TYPE" => {
                    let t = parts.next().unwrap_or("");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "bad TYPE: {line}"
                    );
                    assert!(
                        types.insert(name.into(), t.into()).is_none(),
                        "TYPE twice: {line}"
                    );
                }
                "HELP" => assert!(parts.next().is_some_and(|h| !h.is_empty()), "{line}"),
                _ => {}
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.strip_suffix('}').unwrap_or_else(|| panic!("{line}"))),
            None => (series, ""),
        };
        assert!(valid_name(name), "bad metric name: {line}");
        let labels = parse_labels(labels, line);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(name);
        let t = types
            .get(family)
            .unwrap_or_else(|| panic!("sample before its TYPE: {line}"));
        if name.ends_with("_bucket") && t == "histogram" {
            assert!(
                labels.iter().any(|(k, _)| k == "le"),
                "bucket without le: {line}"
            );
        }
        let v = parse_value(value, line);
        if t == "counter" {
            assert!(v >= 0.0, "negative counter: {line}");
        }
        assert!(
            samples.insert(series.to_string(), v).is_none(),
            "duplicate series: {line}"
        );
    }
    // Histograms: buckets cumulative, +Inf bucket == _count.
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let mut per_series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (series, v) in samples.range(format!("{family}_bucket{{")..) {
            let Some(labels) = series.strip_prefix(&format!("{family}_bucket{{")) else {
                break;
            };
            let labels = parse_labels(labels.strip_suffix('}').unwrap(), series);
            let le = labels.iter().find(|(k, _)| k == "le").unwrap().1.clone();
            let rest: Vec<String> = labels
                .iter()
                .filter(|(k, _)| k != "le")
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            per_series
                .entry(rest.join(","))
                .or_default()
                .push((parse_value(&le, series), *v));
        }
        assert!(!per_series.is_empty(), "histogram {family} has no buckets");
        for (labels, mut buckets) in per_series {
            buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}{{{labels}}} not cumulative"
            );
            let (le, inf) = *buckets.last().unwrap();
            assert!(le.is_infinite(), "{family}{{{labels}}} has no +Inf bucket");
            let count = samples[&format!("{family}_count{{{labels}}}")];
            assert_eq!(inf, count, "{family}{{{labels}}}: +Inf bucket != _count");
            assert!(samples.contains_key(&format!("{family}_sum{{{labels}}}")));
        }
    }
    samples
}

/// The value of `name` summed over every series (all cores) whose labels contain `filter`.
fn total(samples: &Samples, name: &str, filter: &str) -> f64 {
    samples
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains(filter))
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn parser_rejects_what_prometheus_rejects() {
    assert!(
        std::panic::catch_unwind(|| parse("x 1\n")).is_err(),
        "sample without TYPE"
    );
    assert!(std::panic::catch_unwind(|| parse("# TYPE x counter\nx{a=b} 1\n")).is_err());
    assert!(std::panic::catch_unwind(|| parse("# TYPE x counter\nx one\n")).is_err());
    let ok = parse("# HELP x An x.\n# TYPE x counter\nx{a=\"b\\\"c\"} 3\n");
    assert_eq!(ok["x{a=\"b\\\"c\"}"], 3.0);
}

#[test]
fn render_parses_and_counters_move_with_tcp_traffic() {
    let rt = ringbolt::Builder::new().metrics(true).build().unwrap();
    let runtime_label = rt.block_on(async {
        // The label of this runtime: the one whose series exist now and did not before is
        // ambiguous with other tests' runtimes, so identify it by core 0 and the largest id.
        let s = parse(&ringbolt::metrics::render());
        s.keys()
            .filter_map(|k| k.strip_prefix("ringbolt_tasks_spawned_total{runtime=\""))
            .filter_map(|k| k.split('"').next()?.parse::<u64>().ok())
            .max()
            .expect("this runtime's series")
    });
    let filter = format!("runtime=\"{runtime_label}\",core=\"0\"");
    let echo_round_trips = |n: usize| {
        rt.block_on(async {
            let listener = ringbolt::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = ringbolt::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 64];
                loop {
                    let (r, b) = s.read(buf).await;
                    let k = r.unwrap();
                    if k == 0 {
                        break;
                    }
                    let (r, b) = s.write_all(ringbolt::buf::IoBuf::slice(b, ..k)).await;
                    r.unwrap();
                    buf = b.into_inner();
                }
            });
            let c = ringbolt::net::TcpStream::connect(addr).await.unwrap();
            let mut buf = vec![0u8; 64];
            for i in 0..n {
                let (r, _) = c.write_all(vec![i as u8; 16]).await;
                r.unwrap();
                let (r, b) = c.read(buf).await;
                assert!(r.unwrap() > 0);
                buf = b;
            }
            drop(c);
            server.await.unwrap();
        })
    };
    echo_round_trips(10);
    let before = parse(&ringbolt::metrics::render());
    echo_round_trips(100);
    let after = parse(&ringbolt::metrics::render());

    for name in [
        "ringbolt_tasks_spawned_total",
        "ringbolt_task_polls_total",
        "ringbolt_ops_submitted_total",
        "ringbolt_ops_completed_total",
        "ringbolt_ring_enters_total",
        "ringbolt_cqes_reaped_total",
        "ringbolt_poll_duration_seconds_count",
        "ringbolt_loop_turn_busy_seconds_count",
        "ringbolt_sqes_per_enter_count",
        "ringbolt_cqes_per_turn_count",
    ] {
        let (b, a) = (total(&before, name, &filter), total(&after, name, &filter));
        assert!(a > b, "{name} did not move with traffic: {b} -> {a}");
    }
    // 100 round trips: at least 200 ops (a write and a read each) on the client side alone.
    let ops = total(&after, "ringbolt_ops_completed_total", &filter)
        - total(&before, "ringbolt_ops_completed_total", &filter);
    assert!(ops >= 200.0, "ops completed moved by {ops}");
    assert_eq!(total(&after, "ringbolt_cq_overflows_total", &filter), 0.0);
    assert_eq!(total(&after, "ringbolt_stale_cqes_total", &filter), 0.0);
    // Dropping the runtime removes its series.
    drop(rt);
    let gone = parse_or_empty(&ringbolt::metrics::render());
    assert_eq!(total(&gone, "ringbolt_tasks_spawned_total", &filter), 0.0);
}

fn parse_or_empty(text: &str) -> Samples {
    if text.is_empty() {
        Samples::new()
    } else {
        parse(text)
    }
}

/// The example binary next to this test's, which `cargo test` builds with the tests.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test` for the whole package (it builds the examples) or \
         `cargo build --release --example {name}` first",
        bin.display()
    );
    bin
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.0 GET; returns (status line, body).
fn get(port: u16, path: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut s = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "server not listening on {port}: {e}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").expect("a response head");
    let status = head.lines().next().unwrap().to_string();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .parse()
        .unwrap();
    assert_eq!(body.len(), len, "body length != Content-Length");
    (status, body.to_string())
}

#[test]
fn example_serves_metrics_that_move_with_requests() {
    let port = free_port();
    let child = Command::new(example("metrics_http"))
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--cores",
            "2",
            "--secs",
            "60",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start metrics_http");
    let _server = Server(child);
    let (status, body) = get(port, "/metrics");
    assert_eq!(status, "HTTP/1.0 200 OK");
    let first = parse(&body);
    for _ in 0..20 {
        let (status, body) = get(port, "/");
        assert_eq!(status, "HTTP/1.0 200 OK");
        assert!(body.contains("says hello"), "{body}");
    }
    let (status, _) = get(port, "/nope");
    assert_eq!(status, "HTTP/1.0 404 Not Found");
    let (_, body) = get(port, "/metrics");
    let second = parse(&body);
    // Both cores report; 21+ requests mean 21+ more tasks and accepted connections' ops.
    assert_eq!(
        second
            .keys()
            .filter(|k| k.starts_with("ringbolt_tasks_spawned_total{"))
            .count(),
        2,
        "{body}"
    );
    for name in [
        "ringbolt_tasks_spawned_total",
        "ringbolt_ops_completed_total",
        "ringbolt_poll_duration_seconds_count",
    ] {
        let (a, b) = (total(&first, name, ""), total(&second, name, ""));
        assert!(b >= a + 21.0, "{name}: {a} -> {b}");
    }
}
