//! Statistics: a log-linear latency histogram and the median/spread summary of repetitions.
//!
//! Rules:
//! 1. Histogram buckets are exact below 64 ns and log-linear above (64 sub-buckets per power
//!    of two), so any recorded value is off by at most 1/64 (1.6 %) of itself.
//! 2. A quantile is reported as the midpoint of its bucket, clamped to the observed min/max.
//! 3. Spread is `(max - min) / median`; a cell whose spread exceeds [`SPREAD_FLAG`] is flagged.

use serde::{Deserialize, Serialize};

/// Relative spread above which a cell is flagged as noisy.
pub const SPREAD_FLAG: f64 = 0.10;

const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// Latency histogram over `u64` nanoseconds with log-linear buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < SUB as u64 {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros(); // >= SUB_BITS
        let shift = exp - SUB_BITS;
        let mantissa = (v >> shift) as usize; // in [SUB, 2 * SUB)
        (shift as usize + 1) * SUB + (mantissa - SUB)
    }

    /// Lowest value and width of bucket `idx`.
    fn bucket(idx: usize) -> (u64, u64) {
        if idx < SUB {
            return (idx as u64, 1);
        }
        let shift = (idx / SUB - 1) as u32;
        let mantissa = (idx % SUB + SUB) as u64;
        (mantissa << shift, 1u64 << shift)
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.total += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        *self = Histogram::new();
    }

    /// The value at quantile `q` in `[0, 1]`, or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, width) = Self::bucket(idx);
                let mid = low + (width - 1) / 2;
                return Some(mid.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// Median and min–max spread of a set of repetitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// `(max - min) / median` (0 when the median is 0).
    pub spread: f64,
    /// Number of values.
    pub n: usize,
}

impl Summary {
    /// Summarises `values`; `None` when empty or when any value is not finite.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let median = median(values)?;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let spread = if median != 0.0 {
            (max - min) / median.abs()
        } else {
            0.0
        };
        Some(Summary {
            median,
            min,
            max,
            spread,
            n: values.len(),
        })
    }

    /// Whether the spread exceeds [`SPREAD_FLAG`].
    pub fn noisy(&self) -> bool {
        self.spread > SPREAD_FLAG
    }
}

/// Median (mean of the two middle values for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Median of the `Some` values; `None` when there are none.
pub fn median_of(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.into_iter().flatten().collect();
    median(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(
            median_of([None, Some(5.0), Some(1.0), Some(3.0)]),
            Some(3.0)
        );
    }

    #[test]
    fn summary_spread_flags() {
        let s = Summary::of(&[100.0, 95.0, 104.0]).expect("summary");
        assert_eq!(s.median, 100.0);
        assert_eq!((s.min, s.max, s.n), (95.0, 104.0, 3));
        assert!((s.spread - 0.09).abs() < 1e-12);
        assert!(!s.noisy());
        let s = Summary::of(&[100.0, 80.0, 104.0]).expect("summary");
        assert!(s.noisy());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn histogram_exact_below_64() {
        let mut h = Histogram::new();
        for v in 0..64 {
            h.record(v);
        }
        assert_eq!(h.count(), 64);
        assert_eq!(h.quantile(0.5), Some(31));
        assert_eq!(h.quantile(1.0), Some(63));
        assert_eq!(h.quantile(0.0), Some(0));
    }

    #[test]
    fn histogram_percentiles_within_bucket_error() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 10);
        }
        for (q, want) in [(0.5, 500_000.0), (0.99, 990_000.0), (0.999, 999_000.0)] {
            let got = h.quantile(q).expect("non-empty") as f64;
            assert!(
                (got - want).abs() / want < 1.0 / 64.0,
                "q{q}: got {got}, want {want}"
            );
        }
        assert_eq!(h.quantile(1.0), Some(1_000_000));
    }

    #[test]
    fn histogram_bucket_bounds_cover_values() {
        for v in [
            64u64,
            65,
            127,
            128,
            1000,
            123_456_789,
            u64::MAX / 3,
            u64::MAX,
        ] {
            let (low, width) = Histogram::bucket(Histogram::index(v));
            assert!(low <= v && v - low < width, "v={v} low={low} width={width}");
        }
    }

    #[test]
    fn histogram_merge_and_empty() {
        let mut a = Histogram::new();
        assert_eq!(a.quantile(0.5), None);
        let mut b = Histogram::new();
        a.record(10);
        b.record(1_000);
        b.record(2_000);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile(0.0), Some(10));
        assert_eq!(a.quantile(1.0), Some(2_000));
        a.clear();
        assert_eq!(a.count(), 0);
    }
}
