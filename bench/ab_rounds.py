#!/usr/bin/env python3
"""Same-run A/B of broker binaries with paperboy-bench: each broker is started once, then every
round runs every workload against each broker that it names, in an order rotated every round.
Prints medians and the median of the per-round ratios (the figures that survive a shared
machine), with user and kernel CPU per delivery from /proc/PID/stat around each run.

  bench/ab_rounds.py --bench build/release/bench/paperboy-bench --rounds 5 --seconds 3 \
      --broker main=/tmp/main/paperboyd --broker new=build/release/broker/paperboyd \
      --broker limit=build/release/bench/paperboy-limit \
      --case 'queue-128B:main,new,limit:queue --size 128' \
      --case 'queue-128B-pb0:main,new:queue --size 128 --broker pb0' \
      --ratio queue-128B:new/main --ratio queue-128B:new/limit --out runs.jsonl

A broker whose name contains "limit" is started without paperboyd's flags.

Two cases can be compared on one broker too (e.g. version 2 subscribers against version 1 ones):
--case-ratio 'fanout-v2/fanout-v1:new' takes the ratio of the two cases' figures within each
round, and --rotate-cases rotates the order the cases run in every round, so neither always
runs first.
"""
import argparse
import collections
import json
import os
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, deadline_s=20.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"ab_rounds: nothing listens on port {port}")


def json_rate(cmd, who):
    """msgs_per_sec of the last line a bench run with --json prints; exits saying why if none."""
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    lines = out.stdout.strip().splitlines()
    if not lines:
        sys.exit(f"{who}: no output from {' '.join(cmd)}: {out.stderr.strip()}")
    return float(json.loads(lines[-1])["msgs_per_sec"])


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime


def run_one(bench, case_args, port, pid, seconds):
    tick = os.sysconf("SC_CLK_TCK")
    u0, s0 = cpu_ticks(pid)
    cmd = [bench, *case_args.split(), "--port", str(port), "--broker-pid", str(pid),
           "--seconds", str(seconds), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    u1, s1 = cpu_ticks(pid)
    j = json.loads(out.strip().splitlines()[-1])
    delivered = max(1, j.get("delivered") or 0)
    return {"msgs": j.get("msgs_per_sec"), "per_cpu": j.get("deliveries_per_cpu_s"),
            "user_ns": (u1 - u0) / tick * 1e9 / delivered,
            "sys_ns": (s1 - s0) / tick * 1e9 / delivered,
            "p50": j.get("p50_us"), "p99": j.get("p99_us"), "lost": j.get("lost"),
            "dup": j.get("duplicates"), "disconnected": j.get("disconnected"),
            "other": j.get("other_cores")}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--broker", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--case", action="append", required=True, help="NAME:BROKER,...:ARGS")
    ap.add_argument("--ratio", action="append", default=[], help="CASE:A/B")
    ap.add_argument("--case-ratio", action="append", default=[], help="CASE_A/CASE_B:BROKER")
    ap.add_argument("--rotate-cases", action="store_true")
    ap.add_argument("--broker-flags", default="",
                    help="extra paperboyd flags (not for a 'limit' broker), e.g. '--max-payload 1048576'")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--out")
    o = ap.parse_args()

    procs, ports = {}, {}
    try:
        for spec in o.broker:
            name, path = spec.split("=", 1)
            ports[name] = free_port()
            extra = [] if "limit" in name else ["--log-level", "warn", *o.broker_flags.split()]
            procs[name] = subprocess.Popen([path, "--port", str(ports[name]), *extra],
                                           stderr=subprocess.DEVNULL)
        for name in procs:
            wait_listening(ports[name])
        runs = []
        for r in range(o.rounds):
            cases = o.case[r % len(o.case):] + o.case[:r % len(o.case)] if o.rotate_cases else o.case
            for case in cases:
                cname, names, args = case.split(":", 2)
                order = names.split(",")
                order = order[r % len(order):] + order[:r % len(order)]
                for b in order:
                    rec = {"round": r, "case": cname, "broker": b,
                           **run_one(o.bench, args, ports[b], procs[b].pid, o.seconds)}
                    runs.append(rec)
                    print(json.dumps(rec), file=sys.stderr, flush=True)
                    if o.out:
                        with open(o.out, "a") as f:
                            f.write(json.dumps(rec) + "\n")
                    time.sleep(0.3)
    finally:
        for p in procs.values():
            p.terminate()

    by = collections.defaultdict(list)
    for rec in runs:
        by[(rec["case"], rec["broker"])].append(rec)
    for (cname, b), recs in sorted(by.items()):
        m = {k: median([x[k] for x in recs]) for k in recs[0] if k not in ("round", "case", "broker")}
        print(f"{cname:16} {b:10} msgs/s {m['msgs'] / 1e6:6.2f}M  per CPU-s {m['per_cpu'] / 1e6:6.2f}M  "
              f"user {m['user_ns']:6.1f} ns  kernel {m['sys_ns']:6.1f} ns  p50 {m['p50']:.0f} us  "
              f"p99 {m['p99']:.0f} us  lost {sum(x['lost'] or 0 for x in recs)}  "
              f"dup {sum(x['dup'] or 0 for x in recs)}  other cores {m['other']:.2f}")
    rounds = collections.defaultdict(dict)
    for rec in runs:
        rounds[(rec["case"], rec["round"])][rec["broker"]] = rec
    for spec in o.ratio:
        cname, pair = spec.split(":", 1)
        a, b = pair.split("/")
        for k in ("msgs", "per_cpu", "p50", "p99"):
            v = [x[a][k] / x[b][k] for (c, _), x in rounds.items()
                 if c == cname and a in x and b in x and x[a][k] and x[b][k]]
            if v:
                print(f"{cname:16} {a}/{b} {k:8} median {statistics.median(v):.2f} "
                      f"(range {min(v):.2f}-{max(v):.2f}, {len(v)} rounds)")
    for spec in o.case_ratio:
        pair, b = spec.rsplit(":", 1)
        ca, cb = pair.split("/")
        for k in ("msgs", "per_cpu", "p50", "p99"):
            v = [x[ca][b][k] / x[cb][b][k] for x in by_round_case(runs).values()
                 if ca in x and cb in x and b in x[ca] and b in x[cb]
                 and x[ca][b][k] and x[cb][b][k]]
            if v:
                print(f"{ca}/{cb} on {b} {k:8} median {statistics.median(v):.3f} "
                      f"(range {min(v):.3f}-{max(v):.3f}, {len(v)} rounds)")


def by_round_case(runs):
    """round -> case -> broker -> record"""
    out = collections.defaultdict(lambda: collections.defaultdict(dict))
    for rec in runs:
        out[rec["round"]][rec["case"]][rec["broker"]] = rec
    return out


if __name__ == "__main__":
    main()
