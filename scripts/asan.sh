#!/usr/bin/env bash
# Runs the runtime and net tests under AddressSanitizer when a nightly toolchain is installed
# (`-Zsanitizer=address` needs nightly); says plainly that it skipped otherwise. CI calls it:
# a skip is not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "asan: skipped (no nightly toolchain installed; \`rustup toolchain install nightly\` enables it)"
  exit 0
fi
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=address"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=0"
# With rust-src, -Zbuild-std instruments std as well; without it, ringbolt's own code and every
# heap block (Rust's allocator is malloc, which ASan replaces) are still checked.
build_std=()
if rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
  build_std=(-Zbuild-std)
fi
echo "asan: runtime and net tests under AddressSanitizer ($host${build_std:+, std instrumented})"
# --target keeps build scripts and proc-macros uninstrumented.
cargo +nightly test ${build_std[@]+"${build_std[@]}"} --target "$host" --target-dir target/asan \
  --release -p ringbolt-runtime -p ringbolt-net --tests --no-fail-fast "$@"
