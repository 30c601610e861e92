//! Benchmark runner (filled in by the benchmark work).
