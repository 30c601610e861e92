#!/usr/bin/env bash
# Page-cache fast path measurements (docs/fast_path.md): runs the `versus` file workers
# directly, interleaved, and prints per cell the median kIOPS, its spread, the ratio to the
# bare ring (raw-uring), system calls per op (from `perf stat`'s syscall tracepoint: stable on
# a noisy machine where IOPS are not) and CPU microseconds per op.
#
# usage: scripts/fast_path.sh [-r REPS] [-d MS] [-c] [-b BIN]... [WORKLOAD]...
#   -r REPS   interleaved repetitions (default 5)
#   -d MS     measurement window per run (default 500)
#   -c        cold cache: drop the data file's pages (posix_fadvise DONTNEED) before each run
#   -b BIN    a versus binary to compare (repeatable, e.g. one built before a change, copied
#             out of target/); default: the current build (cargo bench --bench versus --no-run)
#   -k LIST   contenders (default ringbolt,raw-uring,std-pread)
#   WORKLOAD  randread-4k-qd1 randread-4k-qd32 randread-4k-qd128 randread-4k-qd1-direct
#             seqread-128k-qd1 randwrite-4k-qd32 (default: the three page-cache randreads)
# The data file lives in target/fast_path (made by versus itself on the first run, 1 GiB).
set -euo pipefail
cd "$(dirname "$0")/.."

reps=5 dur=500 cold=0 bins=() contenders=ringbolt,raw-uring,std-pread
while getopts "r:d:cb:k:" o; do
  case $o in
    r) reps=$OPTARG ;; d) dur=$OPTARG ;; c) cold=1 ;; b) bins+=("$OPTARG") ;;
    k) contenders=$OPTARG ;; *) sed -n 2,17p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
workloads=("${@:-randread-4k-qd1 randread-4k-qd32 randread-4k-qd128}")
workloads=(${workloads[*]})
if [ ${#bins[@]} -eq 0 ]; then
  bins=("$(cargo bench --bench versus --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*versus-[^"]*\)".*/\1/p' | tail -1)")
fi
dir=$PWD/target/fast_path
data=$dir/data.bin
if [ ! -s "$data" ]; then
  "${bins[0]}" --file-only --no-progress --file-contenders std-pread \
    --workloads randread-4k-qd1 --file-duration 10ms --out-dir "$dir" >/dev/null
fi
size=$(stat -c %s "$data")

spec() { # NAME
  local n=$1 op bs qd direct=false
  case $n in
    randread-*) op=RandRead ;; seqread-*) op=SeqRead ;; randwrite-*) op=RandWrite ;;
  esac
  bs=$(( $(echo "$n" | sed 's/^[a-z]*-\([0-9]*\)k.*/\1/') * 1024 ))
  qd=$(echo "$n" | sed 's/.*-qd\([0-9]*\).*/\1/')
  case $n in *-direct*) direct=true ;; esac
  local path=$data
  [ $op = RandWrite ] && path=$dir/write.bin && [ -s "$path" ] || true
  printf '{"path":"%s","size":%s,"workload":{"name":"%s","op":"%s","bs":%s,"qd":%s,"direct":%s,"fsync_every":null},"warmup_ms":100,"duration_ms":%s,"cores":[0]}' \
    "$path" "$size" "$n" "$op" "$bs" "$qd" "$direct" "$dur"
}

drop_cache() {
  python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)" "$1"
}

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
IFS=, read -r -a cons <<<"$contenders"
for ((r = 1; r <= reps; r++)); do
  for w in "${workloads[@]}"; do
    s=$(spec "$w")
    case $w in randwrite-*) cp -n "$data" "$dir/write.bin" 2>/dev/null || true ;; esac
    for b in "${bins[@]}"; do
      for c in "${cons[@]}"; do
        # Only one binary runs the reference contenders (they do not change with ringbolt).
        if [ "$c" != ringbolt ] && [ "$b" != "${bins[0]}" ]; then continue; fi
        if [ $cold = 1 ]; then drop_cache "$data"; else cat "$data" >/dev/null; fi
        out=$(perf stat -x, -e raw_syscalls:sys_enter,task-clock -o "$raw.perf" \
          "$b" --file-worker "$c" "$s" 2>/dev/null) || { echo "run failed: $b $c $w" >&2; continue; }
        ops=$(echo "$out" | sed -n 's/.*"ops":\([0-9]*\).*/\1/p')
        win=$(echo "$out" | sed -n 's/.*"window_s":\([0-9.]*\).*/\1/p')
        sys=$(awk -F, '/sys_enter/ {print $1}' "$raw.perf")
        cpu=$(awk -F, '/task-clock/ {print $1}' "$raw.perf")
        echo "$w $(basename "$b"):$c $ops $win $sys $cpu" >>"$raw"
      done
    done
  done
done

# Median kIOPS, spread, ratio to raw-uring's median; system calls and CPU us per op (whole
# process, warm-up and setup included, divided by measured ops: compare like with like).
awk '
function median(arr, n,   i, j, t) {
  for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
  return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ k = $1 SUBSEP $2; n[k]++; iops[k, n[k]] = $3 / $4 / 1000; ipo[k, n[k]] = $5 / ($3 ? $3 : 1); cpo[k, n[k]] = $6 * 1000 / ($3 ? $3 : 1)
  if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
END {
  printf "%-24s %-34s %8s %11s %7s %8s %9s\n", "workload", "binary:contender", "kIOPS", "min-max", "xuring", "sys/op", "cpu us/op"
  for (i = 1; i <= m; i++) {
    k = order[i]; c = n[k]; lo = 1e18; hi = 0
    for (j = 1; j <= c; j++) { a[j] = iops[k, j]; b[j] = ipo[k, j]; d[j] = cpo[k, j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j] }
    med[k] = median(a, c); imed[k] = median(b, c); cmed[k] = median(d, c); lohi[k] = sprintf("%.0f-%.0f", lo, hi)
    split(k, p, SUBSEP); if (p[2] ~ /:raw-uring$/) ref[p[1]] = med[k]
  }
  for (i = 1; i <= m; i++) {
    k = order[i]; split(k, p, SUBSEP)
    printf "%-24s %-34s %8.1f %11s %6.2fx %8.2f %9.2f\n", p[1], p[2], med[k], lohi[k], (ref[p[1]] ? med[k] / ref[p[1]] : 0), imed[k], cmed[k]
  }
}' "$raw"
