#!/usr/bin/env python3
"""Instructions per echo round trip of the echo example server, counted by callgrind.

The server (`target/release/examples/echo --cores 1`) runs under `valgrind --tool=callgrind`
twice: once for a short load and once for a long one, from a client in this script (64
connections, each ping-ponging 64-byte messages, every echoed byte checked). The difference
of the two instruction totals divided by the difference of the round trips is the server's
cost per round trip, free of start-up and shutdown. Instruction counts do not depend on how
busy the machine is, so this figure is stable where throughput is not.

Usage: scripts/callgrind_echo.py [--conns 64] [--size 64] [--mode multishot|read] [--reps N]
       [--bins OLD,NEW]   (interleaved runs of several echo builds, with medians)
(build first: cargo build --release --example echo)

With `--serve CONTENDER` it measures the `versus` runner's echo server of that contender
instead (`ringbolt-versus --serve CONTENDER --cores 0`), so runtimes are compared on the same
server code, each with its own instruction count (build first: cargo build --profile bench -p
ringbolt-versus). The ringbolt and tokio-percore servers run under valgrind here; the
monoio and raw-uring servers never answered under it on this machine (the script then waits
until it is stopped).
"""
import argparse, glob, os, re, selectors, signal, socket, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def load(port, conns, size, rounds):
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(conns):
        for _ in range(200):
            try:
                s = socket.create_connection(("127.0.0.1", port)); break
            except OSError:
                time.sleep(0.05)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    state = {}
    for i, s in enumerate(socks):
        msg = bytes(((i * 7 + j) % 251 for j in range(size)))
        state[s] = [msg, 0, b""]
        s.sendall(msg)
        sel.register(s, selectors.EVENT_READ)
    done = 0
    while done < conns:
        for key, _ in sel.select(timeout=60):
            s = key.fileobj
            st = state[s]
            data = s.recv(65536)
            if not data:
                sys.exit("server closed a connection")
            st[2] += data
            if len(st[2]) >= size:
                if st[2] != st[0]:
                    sys.exit("echo mismatch")
                st[1] += 1
                st[2] = b""
                if st[1] == rounds:
                    sel.unregister(s); done += 1
                else:
                    s.sendall(st[0])
    for s in socks:
        s.close()

def run(args, rounds):
    out = tempfile.mktemp(prefix="callgrind.echo.")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if args.serve:
        # The runner's server picks its port and says `ready PORT`; EOF on stdin stops it.
        cmd = vg + [os.environ.get("VERSUS_BIN", "target/release/ringbolt-versus"),
                    "--serve", args.serve, "--cores", "0", "--buf", "16384"]
        srv = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        line = srv.stdout.readline().split()
        if len(line) != 2 or line[0] != "ready":
            srv.kill()
            sys.exit(f"versus --serve {args.serve} did not start: {line}")
        port = int(line[1])
    else:
        port = free_port()
        cmd = vg + [args.bin, "--addr", f"127.0.0.1:{port}", "--cores", "1",
               "--recv", args.mode, "--drain", "1"]
        srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        load(port, args.conns, args.size, rounds)
        # Signals do not reach a signalfd under valgrind, so the server cannot be stopped
        # gracefully: dump the counts now, then kill it.
        subprocess.run(["callgrind_control", "--dump", str(srv.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        srv.kill()
        srv.wait(timeout=120)
    total = None
    for name in sorted(glob.glob(out + "*")):
        with open(name) as f:
            for line in f:
                m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                if m:
                    total = int(m.group(1))
        os.unlink(name)
    return total

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--mode", default="multishot", choices=["multishot", "read"])
    ap.add_argument("--serve", metavar="CONTENDER",
                    help="measure the versus runner's echo server of CONTENDER instead")
    ap.add_argument("--short", type=int, default=50, help="round trips per connection, short run")
    ap.add_argument("--long", type=int, default=250, help="round trips per connection, long run")
    ap.add_argument("--reps", type=int, default=1,
                    help="repetitions; with more than one, also prints the median and range")
    ap.add_argument("--bins", metavar="A,B,...",
                    help="echo binaries to compare, run interleaved (default: $ECHO_BIN or "
                         "target/release/examples/echo)")
    args = ap.parse_args()
    bins = (args.bins.split(",") if args.bins
            else [os.environ.get("ECHO_BIN", "target/release/examples/echo")])
    rts = args.conns * (args.long - args.short)
    what = f"versus --serve {args.serve}" if args.serve else f"echo --recv {args.mode}"
    # The figure moves by a few percent between runs of one binary (how many round trips each
    # turn batches depends on the timing of this client), so comparisons interleave the
    # binaries and look at medians.
    figs = {b: [] for b in bins}
    for _ in range(args.reps):
        for b in bins:
            args.bin = b
            a = run(args, args.short)
            z = run(args, args.long)
            figs[b].append((z - a) / rts)
            label = f" [{b}]" if len(bins) > 1 else ""
            print(f"{what}, {args.conns} conns x {args.size} B{label}: "
                  f"{(z - a) / rts:.0f} instructions per round trip ({z - a} over {rts} round trips)",
                  flush=True)
    if args.reps > 1:
        for b, v in figs.items():
            v.sort()
            print(f"median {v[len(v) // 2]:.0f} (range {v[0]:.0f}-{v[-1]:.0f}, {len(v)} runs): {b}")

if __name__ == "__main__":
    main()
