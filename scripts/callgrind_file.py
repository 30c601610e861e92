#!/usr/bin/env python3
"""User-space instructions per file op of a `versus` file contender, from callgrind.

Runs the contender's file worker (`versus --file-worker NAME SPEC`) under callgrind twice, for
a short and a long measurement window, and divides the difference of the instruction totals by
the difference of the ops done: set-up and tear-down cancel out, and instruction counts do not
depend on how busy the machine is (unlike IOPS on this shared VM).

    python3 scripts/callgrind_file.py                       # ringbolt and raw-uring, randread 4 KiB QD32
    python3 scripts/callgrind_file.py --qd 128 --contenders ringbolt
    VERSUS_BIN=/path/to/old/ringbolt-versus python3 scripts/callgrind_file.py   # A/B against another build

The data file is `target/fast_path/data.bin` (1 GiB, made by `versus` on first use, as
`scripts/fast_path.sh` does); it is read once before each run so the reads hit the page cache.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIR = os.path.join(ROOT, "target", "fast_path")
DATA = os.path.join(DIR, "data.bin")


def versus_bin():
    """The `ringbolt-versus` runner (what `cargo bench --bench versus` starts), built here."""
    if os.environ.get("VERSUS_BIN"):
        return os.environ["VERSUS_BIN"]
    out = subprocess.run(
        ["cargo", "build", "--profile", "bench", "--package", "ringbolt-versus", "--bin",
         "ringbolt-versus", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    exes = [json.loads(l).get("executable") for l in out.splitlines() if '"executable"' in l]
    exes = [e for e in exes if e]
    if not exes:
        sys.exit("no ringbolt-versus binary (cargo build --profile bench -p ringbolt-versus)")
    return exes[-1]


def ensure_data(binary):
    if os.path.getsize(DATA) if os.path.exists(DATA) else 0:
        return
    subprocess.run([binary, "--file-only", "--no-progress", "--file-contenders", "std-pread",
                    "--workloads", "randread-4k-qd1", "--file-duration", "10ms",
                    "--out-dir", DIR], check=True, stdout=subprocess.DEVNULL)


def spec(args, duration_ms):
    return json.dumps({
        "path": DATA, "size": os.path.getsize(DATA),
        "workload": {"name": f"randread-{args.bs // 1024}k-qd{args.qd}", "op": "RandRead",
                     "bs": args.bs, "qd": args.qd, "direct": False, "fsync_every": None},
        "warmup_ms": 0, "duration_ms": duration_ms, "cores": [0]})


def run(binary, contender, args, duration_ms):
    with open(DATA, "rb") as f:  # into the page cache
        while f.read(1 << 24):
            pass
    out = tempfile.mktemp(prefix="callgrind.file.")
    res = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          binary, "--file-worker", contender, spec(args, duration_ms)],
                         check=True, capture_output=True, text=True)
    ops = int(re.search(r'"ops":(\d+)', res.stdout).group(1))
    total = 0
    for name in glob.glob(out + "*"):
        with open(name) as f:
            for line in f:
                m = re.match(r"summary:\s+(\d+)", line)
                if m:
                    total += int(m.group(1))
        os.unlink(name)
    return total, ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contenders", default="ringbolt,raw-uring")
    ap.add_argument("--qd", type=int, default=32)
    ap.add_argument("--bs", type=int, default=4096)
    ap.add_argument("--short", type=int, default=600, help="short window, ms")
    ap.add_argument("--long", type=int, default=2400, help="long window, ms")
    args = ap.parse_args()
    binary = versus_bin()
    os.makedirs(DIR, exist_ok=True)
    ensure_data(binary)
    for c in args.contenders.split(","):
        (a, na), (b, nb) = run(binary, c, args, args.short), run(binary, c, args, args.long)
        print(f"{c}: randread {args.bs // 1024} KiB QD{args.qd}: "
              f"{(b - a) / (nb - na):.0f} instructions per op ({b - a} over {nb - na} ops)")


if __name__ == "__main__":
    main()
