#!/usr/bin/env python3
"""RSS of an idle connection on the echo example server.

Starts `target/release/examples/echo --cores 1` (build it first:
`cargo build --release --example echo`), reads the server's VmRSS, opens N connections (each
makes one 64-byte round trip, so its task, socket and receive path are set up, then stays
idle), reads VmRSS again and prints the difference divided by N. Kernel socket memory is not
in the process's RSS; only what ringbolt and the example keep per connection is.

Usage: benches/idle_conn_rss.py [--conns 15000] [--recv multishot|read]
"""
import argparse, os, signal, socket, subprocess, sys, time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conns", type=int, default=15000)
    ap.add_argument("--recv", default="multishot", choices=["multishot", "read"])
    ap.add_argument("--bin", default="target/release/examples/echo")
    args = ap.parse_args()
    port = free_port()
    srv = subprocess.Popen(
        [args.bin, "--addr", f"127.0.0.1:{port}", "--cores", "1", "--recv", args.recv,
         "--drain", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socks = []
    try:
        deadline = time.time() + 20
        while True:
            try:
                probe = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("echo server did not start")
                time.sleep(0.05)
        # Warm up: one connection served and closed, so per-core set-up is not counted. It
        # makes 4,096 round trips: the core's ring of provided buffers (1,024 by default) hands
        # out its buffers in turn, and the first write into each touches a page of it, a
        # per-core cost (up to 4 MiB with 64-byte messages) that would otherwise be counted
        # against the first 1,024 connections.
        for _ in range(4096):
            probe.sendall(b"x" * 64)
            got = b""
            while len(got) < 64:
                chunk = probe.recv(64 - len(got))
                if not chunk:
                    sys.exit("server closed the warm-up connection")
                got += chunk
        probe.close()
        time.sleep(0.5)
        before = rss_kib(srv.pid)
        msg = b"y" * 64
        for i in range(args.conns):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(64 - len(got))
                if not chunk:
                    sys.exit("server closed a connection")
                got += chunk
            socks.append(s)
        time.sleep(1.0)
        after = rss_kib(srv.pid)
        per = (after - before) * 1024 / args.conns
        print(f"echo --recv {args.recv}: {args.conns} idle connections: "
              f"RSS {before} KiB -> {after} KiB = {per:.0f} B per connection")
    finally:
        for s in socks:
            s.close()
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()


if __name__ == "__main__":
    main()
