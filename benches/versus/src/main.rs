//! `ringbolt-versus` binary: the same runner as `cargo bench --bench versus`.

fn main() {
    ringbolt_versus::main();
}
