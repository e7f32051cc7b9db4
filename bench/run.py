"""``make bench``: the ledger writer's committed transfers per second, as ratios.

In one run, on this machine: ``pgbench -b tpcb-like -c 8`` on a fresh PostgreSQL server (fsync
on), then on SQLite (``synchronous=FULL``) and on that same PostgreSQL, gift-shaped transfers
through the batching writer and through a one-transaction-per-transfer baseline (the same code
with ``max_batch=1``), with many concurrent submitters, into one hot creator and spread over
1,000; then the same gift-shaped transfers end to end through ``giftflow serve`` (one process)
driven by wrk. Then the gift figures of issue 8 ("Speed"), on the same PostgreSQL: full gifts
(``SendGift``, each under its idempotency key) through the writer in-process, hot and spread, as
a multiple of pgbench, without and with the LIVE engagement hooks of issue 10 (two windows each,
off, on, on, off, each after a checkpoint); ``POST /v1/lives/{id}/gifts`` through one server
with wrk, as a multiple of the same server's ``GET /healthz`` in the same run; and fan-out,
1,000 subscribers on one room while gifts are committed at 2,000/s, with the p99 of commit →
delivery. Timings on a shared 2-core machine are noisy; the ratios are what to read.

Set ``BENCH_SECONDS`` to change each timed window (default 10), ``BENCH_ONLY`` to run a part
(comma-separated: ``transfers``, ``http``, ``gifts``, ``gifts-http``, ``fanout``; pgbench always
runs), ``BENCH_PROFILE=1`` to print a cProfile of the writer thread during the gift windows,
``BENCH_STATEMENTS=1`` to print PostgreSQL's statements of each gift window by server time per
gift (``pg_stat_statements``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from tests.pgcluster import PostgresCluster

from bench.fanout_bench import FanoutResult, measure_fanout
from bench.gift_bench import GiftResult, combined, measure_gifts
from bench.gift_http_bench import GiftHttpResult, measure_gift_http
from bench.http_bench import HttpResult, measure_http, wrk_available
from bench.writer_bench import Result, measure
from giftflow.db import migrate

console = Console(width=110)
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
RESULTS = Path(__file__).parent / "results"
PARTS = ("transfers", "http", "gifts", "gifts-http", "fanout")
ONLY = {p.strip() for p in os.environ.get("BENCH_ONLY", ",".join(PARTS)).split(",") if p.strip()}
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
# PostgreSQL's own account of the gift windows: statements by server time per gift
STATEMENTS = os.environ.get("BENCH_STATEMENTS", "") not in ("", "0")
PG_STATEMENTS = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",  # the statements the FK triggers run, too
}


def wanted(part: str) -> bool:
    return part in ONLY


if ONLY - set(PARTS):
    raise SystemExit(f"BENCH_ONLY: unknown part(s) {sorted(ONLY - set(PARTS))}; parts: {PARTS}")


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


GIFT_SCENARIOS = [
    # label, hot
    ("writer: full gifts, hot creator", True),
    ("writer: full gifts, spread over 1,000", False),
]
GIFT_TARGET = 4.0  # × pgbench
HTTP_GIFT_TARGET = 0.5  # × GET /healthz of the same server
FANOUT_TARGET_MS = 250.0
FANOUT_SUBSCRIBERS = 1000
FANOUT_RATE = 2000.0


ENGAGEMENT_ORDER = (False, True, True, False)  # ABBA: a drift over the run cancels out


def checkpoint(pg: PostgresCluster) -> None:
    """Write every dirty buffer now, so that no window pays for the previous one's."""
    import psycopg

    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def statements_reset(pg: PostgresCluster, dbname: str, *, create: bool = False) -> None:
    """Start counting ``dbname``'s statements from zero (``BENCH_STATEMENTS=1``)."""
    import psycopg

    with psycopg.connect(pg.dsn(dbname), autocommit=True) as conn:
        if create:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")


def print_statements(pg: PostgresCluster, dbname: str, gifts: int, limit: int = 15) -> None:
    """The window's statements by server execution time per committed gift."""
    import psycopg

    with psycopg.connect(pg.dsn(dbname), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT total_exec_time, calls, rows, "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s) "
            "ORDER BY total_exec_time DESC LIMIT %s",
            (dbname, limit),
        ).fetchall()
    for ms, calls, count, query in rows:
        per_gift = ms * 1000 / gifts if gifts else 0.0
        console.print(
            f"      {per_gift:6.1f} µs/gift {calls:7,} calls {count:9,} rows  {query}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def run_gifts(pg: PostgresCluster, new_name: Callable[[], str], tps: float) -> list[GiftResult]:
    """Each scenario without the engagement hooks (the issue 8 gift) and with goals,
    leaderboards, battles and analytics following every gift (issue 10: at most 10% slower),
    two windows each in the order off, on, on, off, each on a fresh database after a
    checkpoint; each mode's figure is its two windows together."""
    results = []
    for label, hot in GIFT_SCENARIOS:
        windows: dict[bool, list[GiftResult]] = {False: [], True: []}
        for engagement in ENGAGEMENT_ORDER:
            name = new_name()
            url = pg.create_database(name)
            migrate(url)
            if STATEMENTS:
                statements_reset(pg, name, create=True)
            checkpoint(pg)
            shown = f"{label}{', engagement on' if engagement else ''}"
            with console.status(f"postgresql: {shown} ({SECONDS:.0f} s)…"):
                r = measure_gifts(
                    url,
                    label=shown,
                    hot=hot,
                    seconds=SECONDS,
                    pg_data=pg.data,
                    profile=PROFILE,
                    engagement=engagement,
                    on_window=partial(statements_reset, pg, name) if STATEMENTS else None,
                )
            windows[engagement].append(r)
            console.print(f"    window: {shown:58} {r.rate:10,.0f} gifts/s")
            if STATEMENTS:
                print_statements(pg, name, r.committed)
        rates: dict[bool, float] = {}
        for engagement in (False, True):
            runs = windows[engagement]
            r = combined(runs[0].label, runs)
            rates[engagement] = r.rate
            console.print(
                f"  postgresql {r.label:58} {r.rate:10,.0f} gifts/s  {r.rate / tps:.2f}× pgbench"
            )
            console.print(f"    batches of {r.mean_batch:,.0f}; {r.cpu.describe(r.committed)}")
            if r.profile:
                console.print(r.profile, markup=False, highlight=False)
            results.append(r)
        if rates[False]:
            change = rates[True] / rates[False] - 1
            console.print(
                f"    engagement on: {change:+.0%} gifts/s (issue 10 allows no worse than -10%)"
            )
    return results


def run_gift_http(pg: PostgresCluster, url: str) -> GiftHttpResult:
    migrate(url)
    with console.status(f"HTTP: GET /healthz and POST /v1/lives/{{id}}/gifts ({SECONDS:.0f} s)…"):
        h = measure_gift_http(url, int(SECONDS), pg_data=pg.data)
    for what, run, cpu in (
        ("GET /healthz", h.healthz, h.healthz_cpu),
        ("POST /v1/lives/{id}/gifts", h.gifts, h.gifts_cpu),
    ):
        console.print(
            f"  postgresql HTTP {what:37} {run.requests_per_second:10,.0f} req/s"
            f"  p99 {run.latency_p99_ms:,.0f} ms, non-2xx {run.non_2xx}"
        )
        console.print(f"    {cpu.describe(run.requests, 'request')}")
    console.print(
        f"  gifts ÷ healthz: {h.ratio:.2f}× (target ≥ {HTTP_GIFT_TARGET}×);"
        f" the live's gifts_count moved by {h.committed:,} for {h.gifts.requests:,} answered"
        f" (writer batches of {h.mean_batch:,.0f})"
    )
    return h


def run_fanout(pg: PostgresCluster, url: str) -> FanoutResult:
    migrate(url)
    label = f"{FANOUT_SUBSCRIBERS:,} subscribers, gifts offered at {FANOUT_RATE:,.0f}/s"
    with console.status(f"fan-out: {label} ({SECONDS:.0f} s)…"):
        f = measure_fanout(
            url,
            seconds=SECONDS,
            subscribers=FANOUT_SUBSCRIBERS,
            rate=FANOUT_RATE,
            pg_data=pg.data,
        )
    console.print(
        f"  fan-out: {f.gifts:,} gifts committed in {f.seconds:.1f} s ({f.rate:,.0f}/s of"
        f" {f.offered_rate:,.0f}/s offered, {f.refused} refused)"
    )
    console.print(
        f"    {f.complete:,}/{f.subscribers:,} subscribers received every gift"
        f" ({f.deliveries:,} deliveries in {f.frames:,} frames, {f.closed} dropped)"
    )
    console.print(
        f"    commit → delivery: p50 {f.p50_ms:,.0f} ms, p99 {f.p99_ms:,.0f} ms,"
        f" max {f.max_ms:,.0f} ms; {f.cpu.describe(f.gifts)}"
    )
    return f


def gift_table(
    tps: float,
    gifts: list[GiftResult],
    http: GiftHttpResult | None,
    fanout: FanoutResult | None,
    runs: list[dict[str, Any]],
) -> Table:
    """Issue 8's "Speed" figures: the table rows, and the same in the JSON ``runs``."""
    table = Table(title='gifts: issue 8 "Speed" (same run, same PostgreSQL)')
    for col in ("scenario", "rate", "figure", "target", "met"):
        table.add_column(col, justify="left" if col == "scenario" else "right")

    def met(ok: bool) -> str:
        return "[green]yes[/green]" if ok else "[red]no[/red]"

    for r in gifts:
        ratio = r.rate / tps
        table.add_row(
            r.label,
            f"{r.rate:,.0f} gifts/s",
            f"{ratio:.2f}× pgbench",
            f"≥ {GIFT_TARGET:.0f}×",
            met(ratio >= GIFT_TARGET),
        )
        runs.append(
            {
                "database": "postgresql",
                "scenario": r.label,
                "rate": round(r.rate, 1),
                "committed": r.committed,
                "refused": r.refused,
                "mean_batch": round(r.mean_batch, 1),
                "vs_pgbench": round(ratio, 2),
                "target_vs_pgbench": GIFT_TARGET,
                "cpu_us_per_gift": {k: round(v, 1) for k, v in r.cpu.per(r.committed).items()},
            }
        )
    if http is not None:
        table.add_row(
            "HTTP: GET /healthz, 1 server, wrk -c 64",
            f"{http.healthz.requests_per_second:,.0f} req/s",
            "1.00×",
            "",
            "",
        )
        table.add_row(
            "HTTP: POST /v1/lives/{id}/gifts, same server",
            f"{http.gifts.requests_per_second:,.0f} gifts/s",
            f"{http.ratio:.2f}× healthz",
            f"≥ {HTTP_GIFT_TARGET}×",
            met(http.ratio >= HTTP_GIFT_TARGET and http.gifts.non_2xx == 0),
        )
        for label, run, cpu in (
            ("HTTP: GET /healthz", http.healthz, http.healthz_cpu),
            ("HTTP: POST /v1/lives/{id}/gifts", http.gifts, http.gifts_cpu),
        ):
            runs.append(
                {
                    "database": "postgresql",
                    "scenario": label,
                    "rate": round(run.requests_per_second, 1),
                    "requests": run.requests,
                    "non_2xx": run.non_2xx,
                    "latency_p99_ms": run.latency_p99_ms,
                    "cpu_us_per_request": {
                        k: round(v, 1) for k, v in cpu.per(run.requests).items()
                    },
                }
            )
        runs[-1]["vs_healthz"] = round(http.ratio, 3)
        runs[-1]["gifts_committed"] = http.committed
        runs[-1]["mean_batch"] = http.mean_batch
        runs[-1]["target_vs_healthz"] = HTTP_GIFT_TARGET
    if fanout is not None:
        f = fanout
        table.add_row(
            f"fan-out: {f.subscribers:,} subscribers, {f.rate:,.0f} gifts/s",
            f"p99 {f.p99_ms:,.0f} ms",
            f"{f.complete:,}/{f.subscribers:,} got every gift",
            f"≤ {FANOUT_TARGET_MS:.0f} ms",
            met(f.all_received and f.p99_ms <= FANOUT_TARGET_MS),
        )
        runs.append(
            {
                "database": "postgresql",
                "scenario": "fan-out: one room, WebSocket subscribers",
                "subscribers": f.subscribers,
                "offered_rate": f.offered_rate,
                "rate": round(f.rate, 1),
                "gifts": f.gifts,
                "refused": f.refused,
                "complete_subscribers": f.complete,
                "dropped_subscribers": f.closed,
                "deliveries": f.deliveries,
                "frames": f.frames,
                "p50_ms": f.p50_ms,
                "p99_ms": f.p99_ms,
                "max_ms": f.max_ms,
                "target_p99_ms": FANOUT_TARGET_MS,
                "cpu_us_per_gift": {k: round(v, 1) for k, v in f.cpu.per(f.gifts).items()},
            }
        )
    table.add_row("pgbench -b tpcb-like -c 8, same server", f"{tps:,.0f} tps", "1.00×", "", "")
    return table


def main() -> None:
    console.print(
        f"[bold]giftflow bench[/bold]: {SECONDS:.0f} s per window, 2 postings per transfer"
        + (f" (only: {', '.join(sorted(ONLY))})" if ONLY.symmetric_difference(PARTS) else "")
    )
    sqlite: list[Result] = []
    pg_results: list[Result] = []
    http: list[tuple[str, HttpResult]] = []
    gifts: list[GiftResult] = []
    gift_http: GiftHttpResult | None = None
    fanout: FanoutResult | None = None
    with PostgresCluster(fast=False, settings=PG_STATEMENTS if STATEMENTS else None) as pg:
        with console.status(f"pgbench -b tpcb-like -c 8 ({SECONDS:.0f} s)…"):
            tps = pgbench_tps(pg, SECONDS)
        console.print(f"  pgbench tpcb-like -c 8: {tps:,.0f} tps")
        numbers = iter(range(1000))
        if wanted("transfers"):
            with tempfile.TemporaryDirectory() as tmp:
                sqlite = run_database("sqlite", lambda: f"sqlite:///{tmp}/bench{next(numbers)}.db")
            pg_results = run_database("postgresql", lambda: pg.create_database(f"b{next(numbers)}"))
        if wanted("http") and wrk_available():
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
        if wanted("gifts"):
            gifts = run_gifts(pg, lambda: f"g{next(numbers)}", tps)
        if wanted("gifts-http") and wrk_available():
            gift_http = run_gift_http(pg, pg.create_database("gifthttp"))
        if wanted("fanout"):
            fanout = run_fanout(pg, pg.create_database("fanout"))
        if (wanted("http") or wanted("gifts-http")) and not wrk_available():
            console.print("  (wrk not installed: `make system-deps`; HTTP figures skipped)")
    table = Table(title="committed transfers per second (gift-shaped: 2 postings, 3 balances)")
    for col in ("database", "scenario", "transfers/s", "× baseline", "× pgbench"):
        table.add_column(col, justify="right" if col != "scenario" else "left")
    runs: list[dict[str, Any]] = []
    report = {"pgbench_tps": tps, "seconds": SECONDS, "runs": runs}
    for kind, results in (("sqlite", sqlite), ("postgresql", pg_results)):
        if not results:
            continue
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
    if sqlite or pg_results or http:
        console.print(table)
    if gifts or gift_http is not None or fanout is not None:
        console.print(gift_table(tps, gifts, gift_http, fanout, runs))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    out.write_text(json.dumps(report, indent=2))
    console.print(f"results written to {out}")


if __name__ == "__main__":
    main()
