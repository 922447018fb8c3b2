#!/usr/bin/python3
"""The newsstand's payables job side by side: the prototype's path (a Celery 5 task on RabbitMQ
with a Redis result backend, two `celery worker --concurrency 1`) against paperboy's (the Python
client's requests to two billing-worker processes through paperboyd), on the same database.

Each round sends JOBS payables jobs from REQUESTERS concurrent requesters (threads calling
apply_async(...).get(timeout=5) for Celery, coroutines calling request(..., 5) for paperboy) and
measures jobs/s, submit-to-result latency and the CPU time the servers spent (workers, broker and,
for Celery, the result backend; from /proc/PID/stat) per job. Rounds alternate between the two
paths; each figure reported is the median of the rounds. Two workloads: `year` asks for dates all
over the year (the SQL sum reads up to 18,250 rows), `january` for the first week (up to 350),
where the job is light and the path around it is what is measured.

  scripts/setup-bench-newsstand.sh   # once, as root
  bash scripts/build.sh release
  /usr/bin/python3 bench/newsstand/bench_newsstand.py --rounds 3 --jobs 10000 --requesters 50

--paperboy-only runs paperboy's side alone (no RabbitMQ, Redis or Celery needed). --app also
measures POST /billing/total/payable end to end through the newsstand app (services/newsstand, or
--app-dir), which the bench starts under uvicorn on its broker and database; --http URL measures an
app started separately instead (its own CPU is then not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from payables_db import billing_dates, make_payables_db  # noqa: E402
import servers  # noqa: E402

WORKLOADS = {"year": billing_dates(), "january": billing_dates()[:7]}


def expected_totals(db: Path, dates: list[str]) -> dict[str, float]:
    with sqlite3.connect(db) as conn:
        return {
            d: round(
                conn.execute(
                    "SELECT COALESCE(SUM(amount_cents), 0) FROM payables WHERE billing_date BETWEEN ? AND ?",
                    (d[:4] + "-01-01", d),
                ).fetchone()[0]
                / 100,
                2,
            )
            for d in dates
        }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_round(side: str, target: str, dates_file: Path, jobs: int, requesters: int, pids: list[int]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "clients/python/src"))
    cpu_before = sum(servers.cpu_seconds(p) for p in pids)
    output = subprocess.run(
        [sys.executable, str(HERE / "requesters.py"), side, target, str(dates_file), str(jobs), str(requesters)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    cpu = sum(servers.cpu_seconds(p) for p in pids) - cpu_before
    result = json.loads(output.strip().splitlines()[-1])
    latencies = result["latencies"]
    return {
        "jobs_per_s": jobs / result["seconds"],
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "cpu_ms_per_job": cpu / jobs * 1000,
        "errors": result["errors"],
    }


def medians(rounds: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def draw_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(results)
    sides = [s for s in ("celery", "paperboy", "http") if s in results[workloads[0]]]
    labels = {"celery": "Celery + RabbitMQ + Redis", "paperboy": "paperboy + billing-worker", "http": "the app: HTTP -> uvicorn -> paperboy"}
    colors = {"celery": "#b0503c", "paperboy": "#2f6f9f", "http": "#7a9f2f"}
    metrics = [("jobs_per_s", "jobs/s (higher is better)", False), ("p99_ms", "p99 latency, ms (log)", True),
               ("cpu_ms_per_job", "server CPU ms per job", False)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(13, 4.2))
    width = 0.8 / len(sides)
    for ax, (key, title, log) in zip(axes, metrics):
        for n, side in enumerate(sides):
            values = [results[w][side][key] for w in workloads]
            xs = [i + (n - (len(sides) - 1) / 2) * width for i in range(len(workloads))]
            bars = ax.bar(xs, values, width, label=labels[side], color=colors[side])
            ax.bar_label(bars, labels=[f"{v:,.0f}" if v >= 100 else f"{v:.3g}" for v in values], fontsize=8)
        ax.set_xticks(range(len(workloads)), [f"{w} dates" for w in workloads])
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle("Payables jobs: 50 concurrent requesters, 2 workers (medians of interleaved rounds)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requesters", type=int, default=50)
    parser.add_argument("--workloads", default="year,january")
    parser.add_argument("--prefetch", type=int, default=8, help="billing-worker --prefetch")
    parser.add_argument("--paperboyd", default=str(ROOT / "build/release/broker/paperboyd"))
    parser.add_argument("--billing-worker", default=str(ROOT / "build/release/services/billing-worker/billing-worker"))
    parser.add_argument("--paperboy-only", action="store_true", help="skip Celery (no RabbitMQ/Redis needed)")
    parser.add_argument("--app", action="store_true", help="also measure the app's POST /billing/total/payable")
    parser.add_argument("--app-dir", type=Path, default=ROOT / "services/newsstand",
                        help="where the app's package (newsstand/) is")
    parser.add_argument("--http", metavar="URL", help="measure an app already running at URL instead")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--chart", type=Path, help="draw the chart (PNG) here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-newsstand-") as tmp:
        work = Path(tmp)
        db = make_payables_db(work / "newsstand.db")
        started: list[servers.Service] = []
        try:
            daemon, port = servers.start_paperboyd(work, args.paperboyd)
            started.append(daemon)
            workers = servers.start_billing_workers(work, args.billing_worker, port, db, 2, args.prefetch)
            started += workers
            sides = {"paperboy": (str(port), [daemon.pid, *(w.pid for w in workers)])}
            if not args.paperboy_only:
                rabbit, amqp_port, helpers = servers.start_rabbitmq(work)
                started += [rabbit, *helpers]
                redis, redis_port = servers.start_redis(work)
                started.append(redis)
                amqp = f"amqp://guest:guest@127.0.0.1:{amqp_port}//"
                redis_url = f"redis://127.0.0.1:{redis_port}/0"
                celery_env = dict(os.environ, NEWSSTAND_BENCH_AMQP=amqp, NEWSSTAND_BENCH_REDIS=redis_url,
                                  NEWSSTAND_BENCH_DB=str(db))
                celery_workers = servers.start_celery_workers(work, 2, celery_env)
                started += celery_workers
                sides = {"celery": (f"{amqp} {redis_url}",
                                    [rabbit.pid, redis.pid, *(w.pid for w in celery_workers)]), **sides}
            if args.app:
                app, app_port = servers.start_app(work, args.app_dir, port, db)
                started.append(app)
                sides["http"] = (f"http://127.0.0.1:{app_port}", [app.pid, daemon.pid, *(w.pid for w in workers)])
            elif args.http:
                # The app's own process is not ours to find: its CPU is not counted.
                sides["http"] = (args.http, [daemon.pid, *(w.pid for w in workers)])

            results: dict[str, dict[str, dict]] = {}
            for workload in args.workloads.split(","):
                dates = WORKLOADS[workload]
                dates_file = work / f"{workload}.json"
                dates_file.write_text(json.dumps({"dates": dates, "expected": expected_totals(db, dates)}))
                for side, (target, _) in sides.items():  # warm-up: connections, caches, JIT-free paths
                    run_round(side, target, dates_file, 200, args.requesters, [])
                rounds: dict[str, list[dict]] = {side: [] for side in sides}
                for n in range(args.rounds):
                    for side, (target, pids) in sides.items():
                        figures = run_round(side, target, dates_file, args.jobs, args.requesters, pids)
                        rounds[side].append(figures)
                        print(f"{workload} round {n + 1} {side}: " + " ".join(f"{k}={v:.4g}" for k, v in figures.items()),
                              flush=True)
                results[workload] = {side: medians(r) for side, r in rounds.items()}
        finally:
            for service in reversed(started):
                service.stop()

    print(f"\nmedians of {args.rounds} rounds, {args.jobs} jobs, {args.requesters} requesters "
          f"({platform.node()}, {os.cpu_count()} cores):")
    for workload, by_side in results.items():
        for side, figures in by_side.items():
            print(f"  {workload:8} {side:9} " + "  ".join(f"{k}={v:.4g}" for k, v in figures.items()))
        if "celery" in by_side:
            c, p = by_side["celery"], by_side["paperboy"]
            print(f"  {workload:8} paperboy/celery: throughput x{p['jobs_per_s'] / c['jobs_per_s']:.1f}, "
                  f"p99 /{c['p99_ms'] / p['p99_ms']:.1f}, CPU per job /{c['cpu_ms_per_job'] / p['cpu_ms_per_job']:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                         "args": vars(args), "results": results}, indent=2, default=str))
    if args.chart:
        draw_chart(results, args.chart)
    if any(figures["errors"] for by_side in results.values() for figures in by_side.values()):
        sys.exit("bench_newsstand: some jobs got a wrong answer or none (errors= above)")


if __name__ == "__main__":
    main()
