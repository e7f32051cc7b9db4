"""``make bench``: the ledger writer's committed transfers per second, as ratios.

In one run, on this machine: ``pgbench -b tpcb-like -c 8`` on a fresh PostgreSQL server (fsync
on), then on SQLite (``synchronous=FULL``) and on that same PostgreSQL, gift-shaped transfers
through the batching writer and through a one-transaction-per-transfer baseline (the same code
with ``max_batch=1``), with many concurrent submitters, into one hot creator and spread over
1,000; then the same gift-shaped transfers end to end through ``giftflow serve`` (one process)
driven by wrk. Timings on a shared 2-core machine are noisy; the ratios are what to read.
Set ``BENCH_SECONDS`` to change each timed window (default 10).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from tests.pgcluster import PostgresCluster

from bench.http_bench import HttpResult, measure_http, wrk_available
from bench.writer_bench import Result, measure
from giftflow.db import migrate

console = Console(width=110)
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
RESULTS = Path(__file__).parent / "results"


def pgbench_tps(pg: PostgresCluster, seconds: float) -> float:
    pg.create_database("pgbench")
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(pg.port), "PGUSER": "postgres"}
    init = [pg.bin_path("pgbench"), "-i", "-s", "8", "-q", "pgbench"]
    subprocess.run(init, check=True, env=env, capture_output=True)
    run = [
        pg.bin_path("pgbench"),
        "-b",
        "tpcb-like",
        "-c",
        "8",
        "-j",
        "2",
        "-n",
        "-T",
        str(int(seconds)),
        "pgbench",
    ]
    out = subprocess.run(run, check=True, env=env, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([0-9.]+)", out)
    if not match:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(match.group(1))


HTTP_LABEL = "HTTP end to end: 1 server process, wrk -c 64"
SCENARIOS = [
    # label, max_batch, submitters, hot
    ("baseline: 1 transfer per commit, hot", 1, 64, True),
    ("baseline: 1 transfer per commit, spread", 1, 64, False),
    ("writer: batched, hot creator", 1000, 1000, True),
    ("writer: batched, spread over 1,000", 1000, 1000, False),
]


def run_database(kind: str, new_url: Callable[[], str]) -> list[Result]:
    results = []
    for label, max_batch, submitters, hot in SCENARIOS:
        url = new_url()
        migrate(url)
        with console.status(f"{kind}: {label} ({SECONDS:.0f} s)…"):
            r = measure(
                url,
                label=label,
                max_batch=max_batch,
                submitters=submitters,
                hot=hot,
                seconds=SECONDS,
            )
        console.print(f"  {kind:10} {label:42} {r.rate:10,.0f} transfers/s")
        results.append(r)
    return results


def main() -> None:
    console.print(
        f"[bold]giftflow bench[/bold]: {SECONDS:.0f} s per window, 2 postings per transfer"
    )
    with PostgresCluster(fast=False) as pg:
        with console.status(f"pgbench -b tpcb-like -c 8 ({SECONDS:.0f} s)…"):
            tps = pgbench_tps(pg, SECONDS)
        console.print(f"  pgbench tpcb-like -c 8: {tps:,.0f} tps")
        numbers = iter(range(1000))
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = run_database("sqlite", lambda: f"sqlite:///{tmp}/bench{next(numbers)}.db")
        pg_results = run_database("postgresql", lambda: pg.create_database(f"b{next(numbers)}"))
        http: list[tuple[str, HttpResult]] = []
        if wrk_available():
            with tempfile.TemporaryDirectory() as tmp:
                for kind, url in (
                    ("sqlite", f"sqlite:///{tmp}/http.db"),
                    ("postgresql", pg.create_database("http")),
                ):
                    migrate(url)
                    with console.status(f"{kind}: HTTP end to end, wrk -c 64 ({SECONDS:.0f} s)…"):
                        h = measure_http(url, HTTP_LABEL, int(SECONDS))
                    console.print(
                        f"  {kind:10} {HTTP_LABEL:42} {h.requests_per_second:10,.0f} req/s"
                    )
                    http.append((kind, h))
        else:
            console.print("  (wrk not installed: `make system-deps`; HTTP figures skipped)")
    table = Table(title="committed transfers per second (gift-shaped: 2 postings, 3 balances)")
    for col in ("database", "scenario", "transfers/s", "× baseline", "× pgbench"):
        table.add_column(col, justify="right" if col != "scenario" else "left")
    runs: list[dict[str, Any]] = []
    report = {"pgbench_tps": tps, "seconds": SECONDS, "runs": runs}
    for kind, results in (("sqlite", sqlite), ("postgresql", pg_results)):
        base = {True: results[0].rate, False: results[1].rate}
        for (label, _, _, hot), r in zip(SCENARIOS, results, strict=True):
            vs_base = r.rate / base[hot] if base[hot] else 0.0
            table.add_row(kind, label, f"{r.rate:,.0f}", f"{vs_base:.1f}×", f"{r.rate / tps:.2f}×")
            runs.append(
                {
                    "database": kind,
                    "scenario": label,
                    "rate": round(r.rate, 1),
                    "committed": r.committed,
                    "refused": r.refused,
                    "vs_baseline": round(vs_base, 2),
                    "vs_pgbench": round(r.rate / tps, 2),
                }
            )
    for kind, h in http:
        rate = h.requests_per_second
        table.add_row(kind, HTTP_LABEL, f"{rate:,.0f}", "", f"{rate / tps:.2f}×")
        runs.append(
            {
                "database": kind,
                "scenario": HTTP_LABEL,
                "rate": round(rate, 1),
                "non_2xx": h.non_2xx,
                "vs_pgbench": round(rate / tps, 2),
            }
        )
    table.add_row("postgresql", "pgbench -b tpcb-like -c 8", f"{tps:,.0f}", "", "1.00×")
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    out.write_text(json.dumps(report, indent=2))
    console.print(f"results written to {out}")


if __name__ == "__main__":
    main()
