#!/usr/bin/env python3
"""Same-run comparison of topic fan-out over TLS with plain TCP: one paperboyd with both a plain
and a TLS listener (--tls-port, a throwaway certificate made with the openssl command), and
paperboy-async-bench (the AsyncClient) fanning out 1 -> N through each. Every round runs both, the
order alternated every round; prints each round, the medians and the median of the per-round
ratios TLS/plain.

  bench/tls_ratio.py --rounds 5 --seconds 3 --build build/release
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_rounds import free_port, json_rate, wait_listening  # noqa: E402


def rate(cmd):
    return json_rate(cmd, "tls_ratio")


def make_certificates(directory):
    """A CA and a server certificate it signed for IP:127.0.0.1: (ca, cert, key)."""
    ca, cert, key = (os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server.key"))
    ca_key = os.path.join(directory, "ca.key")
    common = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
    subprocess.run([*common, "-keyout", ca_key, "-out", ca, "-subj", "/CN=bench-ca"],
                   check=True, capture_output=True)
    subprocess.run([*common, "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:FALSE", "-CA", ca, "-CAkey", ca_key],
                   check=True, capture_output=True)
    return ca, cert, key


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default="build/release", help="build tree with the binaries")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--subs", type=int, default=4)
    ap.add_argument("--size", type=int, default=128)
    a = ap.parse_args()

    paperboyd = os.path.join(a.build, "broker/paperboyd")
    async_bench = os.path.join(a.build, "bench/paperboy-async-bench")
    with tempfile.TemporaryDirectory(prefix="paperboy-tls-bench-") as directory:
        ca, cert, key = make_certificates(directory)
        port = free_port()
        tls_port = free_port()
        while tls_port == port:  # each is free once closed: the kernel may hand out one twice
            tls_port = free_port()
        broker = subprocess.Popen([paperboyd, "--port", str(port), "--tls-port", str(tls_port),
                                   "--tls-cert", cert, "--tls-key", key, "--log-level", "warn"])
        try:
            wait_listening(port)
            wait_listening(tls_port)
            common = [async_bench, "fanout", "--size", str(a.size), "--subs", str(a.subs),
                      "--seconds", str(a.seconds), "--json"]
            runs = {"plain": [*common, "--port", str(port)],
                    "tls": [*common, "--port", str(tls_port), "--tls", "--ca", ca]}
            figures = {"plain": [], "tls": []}
            ratios = []
            for r in range(a.rounds):
                order = ("plain", "tls") if r % 2 == 0 else ("tls", "plain")
                got = {c: rate(runs[c]) for c in order}
                for c in order:
                    figures[c].append(got[c])
                ratios.append(got["tls"] / got["plain"])
                print(f"round {r + 1} fanout plain {got['plain'] / 1e6:6.3f}M  tls "
                      f"{got['tls'] / 1e6:6.3f}M msgs/s  ratio {ratios[-1]:.2f}", flush=True)
            plain, tls = statistics.median(figures["plain"]), statistics.median(figures["tls"])
            print(f"\nmedians of {a.rounds} rounds, fan-out 1 -> {a.subs}, {a.size} B, "
                  f"AsyncClient, one paperboyd serving both ports:")
            print(f"plain TCP {plain / 1e6:6.3f}M  TLS {tls / 1e6:6.3f}M msgs/s  "
                  f"median ratio TLS/plain {statistics.median(ratios):.2f}")
        finally:
            broker.terminate()
            broker.wait(timeout=30)


if __name__ == "__main__":
    main()
