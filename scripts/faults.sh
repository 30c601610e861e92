#!/usr/bin/env bash
# The fault-injection suite (feature `fault-injection`; see docs/fault_injection.md): the
# runtime, net and fs integration tests under benign faults, and the chaos tests under failing
# ops, for three fixed seeds and one from the clock (printed, so a failure can be replayed
# with RINGBOLT_FAULT_SEED=<seed>).
set -euo pipefail
cd "$(dirname "$0")/.."

clock_seed=$(date +%s%N)
seeds=("${@:-1 2 3 $clock_seed}")
status=0
for seed in ${seeds[*]}; do
  echo "== fault injection, RINGBOLT_FAULT_SEED=$seed"
  RINGBOLT_FAULT_SEED=$seed cargo test --release --no-fail-fast \
    -p ringbolt-runtime -p ringbolt-net -p ringbolt-fs \
    --features ringbolt-runtime/fault-injection || status=1
  RINGBOLT_FAULT_SEED=$seed cargo test --release --no-fail-fast \
    -p ringbolt --features fault-injection --test fault_chaos || status=1
  if [ $status -ne 0 ]; then
    echo "fault injection failed under seed $seed; replay: RINGBOLT_FAULT_SEED=$seed bash scripts/faults.sh $seed"
    exit 1
  fi
done
