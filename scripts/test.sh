#!/usr/bin/env bash
# The test command: installs what the tests need, then runs the whole workspace's tests twice,
# on the default driver and with the epoll driver forced (RINGBOLT_DRIVER=epoll).
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

# The whole suite runs twice: on the default driver (io_uring, or epoll where io_uring is
# unavailable), then with the epoll driver forced. Both passes always run; the script fails if
# either did. Tests of io_uring-only behaviour say so and skip in the epoll pass.
failed=()

echo "== tests, pass 1 of 2: default driver (RINGBOLT_DRIVER unset: io_uring, epoll if unavailable)"
if ! env -u RINGBOLT_DRIVER cargo test --workspace --release --no-fail-fast "$@"; then
  failed+=("pass 1 (default driver)")
fi
# The `tracing` feature: its events test, and stall reports going through tracing.
echo "== tests, pass 1 of 2: the tracing feature (default driver)"
if ! env -u RINGBOLT_DRIVER cargo test -p ringbolt-runtime --release --features tracing \
  --test tracing_events --test stall_report "$@"; then
  failed+=("pass 1 (tracing feature)")
fi

echo "== tests, pass 2 of 2: RINGBOLT_DRIVER=epoll (the epoll driver forced)"
if ! RINGBOLT_DRIVER=epoll cargo test --workspace --release --no-fail-fast "$@"; then
  failed+=("pass 2 (RINGBOLT_DRIVER=epoll)")
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "== tests: both passes (default driver, RINGBOLT_DRIVER=epoll) passed"
