//! `cargo bench --bench versus`: ringbolt vs tokio vs raw io_uring/epoll loops (and fio).
//! See `docs/benchmarks.md`; `cargo bench --bench versus -- --help` lists the options.

fn main() {
    ringbolt_versus::main();
}
