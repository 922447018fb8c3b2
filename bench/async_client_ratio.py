#!/usr/bin/env python3
"""Same-run comparison of the AsyncClient (paperboy-async-bench) with paperboy-bench's raw PB1
connections on the same workloads against one paperboyd: topic fan-out 1 -> N and a queue with N
consumers, 128 B payloads, everything on one thread in both. Every round runs each workload with
both clients, the order alternated every round; prints each round, the medians and the median of
the per-round ratios async/raw (issue 10 asks for at least 0.8).

  bench/async_client_ratio.py --rounds 5 --seconds 3 --build build/release
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_rounds import free_port, json_rate, wait_listening  # noqa: E402

WORKLOADS = ("fanout", "queue")


def rate(cmd):
    return json_rate(cmd, "async_client_ratio")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default="build/release", help="build tree with the three binaries")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--subs", type=int, default=4)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--consume", choices=("view", "stream"), default="view",
                    help="how the AsyncClient subscribers take messages: subscribe_views (in place) "
                         "or Subscription::next()")
    a = ap.parse_args()

    paperboyd = os.path.join(a.build, "broker/paperboyd")
    raw_bench = os.path.join(a.build, "bench/paperboy-bench")
    async_bench = os.path.join(a.build, "bench/paperboy-async-bench")
    port = free_port()
    broker = subprocess.Popen([paperboyd, "--port", str(port), "--log-level", "warn"])
    try:
        wait_listening(port)
        common = ["--size", str(a.size), "--subs", str(a.subs), "--seconds", str(a.seconds),
                  "--port", str(port), "--json"]
        figures = {(w, c): [] for w in WORKLOADS for c in ("raw", "async")}
        ratios = {w: [] for w in WORKLOADS}
        for r in range(a.rounds):
            for w in WORKLOADS:
                runs = {"raw": [raw_bench, w, *common, "--broker-pid", str(broker.pid)],
                        "async": [async_bench, w, *common, "--consume", a.consume]}
                order = ("raw", "async") if r % 2 == 0 else ("async", "raw")
                got = {c: rate(runs[c]) for c in order}
                for c in order:
                    figures[(w, c)].append(got[c])
                ratios[w].append(got["async"] / got["raw"])
                print(f"round {r + 1} {w:7} raw {got['raw'] / 1e6:6.3f}M  async "
                      f"{got['async'] / 1e6:6.3f}M msgs/s  ratio {ratios[w][-1]:.2f}", flush=True)
        print(f"\nmedians of {a.rounds} rounds, {a.size} B, 1 publisher, {a.subs} subscribers, "
              f"AsyncClient consuming by {a.consume}:")
        for w in WORKLOADS:
            raw = statistics.median(figures[(w, 'raw')])
            asy = statistics.median(figures[(w, 'async')])
            ratio = statistics.median(ratios[w])
            verdict = "ok" if ratio >= 0.8 else "BELOW 0.8"
            print(f"{w:7} raw PB1 {raw / 1e6:6.3f}M  AsyncClient {asy / 1e6:6.3f}M msgs/s  "
                  f"median ratio {ratio:.2f} ({verdict})")
    finally:
        broker.terminate()
        broker.wait(timeout=30)


if __name__ == "__main__":
    main()
