//! Sizes, durations and CPU lists: parsed the way the command line writes them, printed the way
//! the tables show them.

use std::time::Duration;

/// Parses `64`, `16K`, `16KiB`, `1M`, `1G` (binary multiples).
///
/// # Errors
/// An unknown unit, a non-number or an overflow, as a message.
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
///
/// # Errors
/// A non-number, or a duration that is not positive and finite.
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
///
/// # Errors
/// A non-number, a reversed or huge range, or an empty list.
pub fn parse_cores(s: &str) -> Result<Vec<usize>, String> {
    let mut cores = Vec::new();
    for part in split_names(s) {
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

/// The non-empty, trimmed items of a comma-separated list.
pub fn split_names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

/// `64 B`, `16 KiB`.
pub fn fmt_size(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_units() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("16KiB"), Ok(16 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("99999999999999G").is_err());
        assert!(parse_size("12Q").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn core_lists_round_trip() {
        assert_eq!(
            format_cores(&parse_cores("0-2,5").unwrap_or_default()),
            "0,1,2,5"
        );
        assert!(parse_cores("3-1").is_err());
        assert!(parse_cores(" , ").is_err());
    }

    #[test]
    fn sizes_format() {
        assert_eq!(fmt_size(64), "64 B");
        assert_eq!(fmt_size(16384), "16 KiB");
        assert_eq!(fmt_size(1500), "1500 B");
    }
}
