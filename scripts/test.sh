#!/usr/bin/env bash
# The test command: installs what the tests need, then runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v fio >/dev/null 2>&1 || need+=(fio)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing test tools: ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: ${need[*]} missing and cannot be installed here; the tests that use them say so and skip"
  fi
fi

cargo test --workspace --release --no-fail-fast "$@"
# The `tracing` feature: its events test, and stall reports going through tracing.
cargo test -p ringbolt-runtime --release --features tracing --test tracing_events --test stall_report "$@"
