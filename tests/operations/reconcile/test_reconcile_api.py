"""Reconcile from the API: a background run, one at a time, its differences through the API and
the Prometheus gauges; the daily run of the maintenance loop, with its checkpoint."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.ledger.reconcile import ReconcileReport
from giftflow.operations.reconcile import repository, service
from giftflow.operations.reconcile.service import reconcile_if_due
from giftflow.schema import accounts, job_state, reconcile_runs
from tests.api.conftest import Api
from tests.api.test_auth_and_errors import error

RECONCILE = "/v1/admin/reconcile"


def ctx_of(api: Api) -> AppContext:
    ctx: AppContext = api.client.app.state.giftflow  # type: ignore[attr-defined]
    return ctx


def start(api: Api) -> dict[str, Any]:
    r = api.client.post(RECONCILE, headers=api.admin())
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    assert body["object"] == "reconcile_run" and body["state"] in ("queued", "running")
    return body


def finished(api: Api) -> dict[str, Any]:
    """Wait for this process's run, then read the last one through the API."""
    service.wait(ctx_of(api), timeout=120)
    r = api.client.get(RECONCILE, headers=api.admin())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["state"] in ("clean", "differences", "failed"), body
    return body


def gauges(api: Api) -> dict[str, float]:
    text = api.client.get("/metrics").text
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("giftflow_reconcile_"):
            out[name.removeprefix("giftflow_reconcile_")] = float(value)
    return out


def test_a_clean_ledger(api: Api) -> None:
    assert error(api.client.get(RECONCILE, headers=api.admin())) == (404, "not_found")
    api.create_users("u1")
    api.grant("user:u1:coins", 70, "g-1")
    run = start(api)
    assert (
        run["requested_by"].startswith("apikey:") and run["requested_at"] == "2026-01-01T00:00:00Z"
    )
    done = finished(api)
    assert done["id"] == run["id"]
    assert (done["state"], done["differences"], done["error"]) == ("clean", 0, None)
    assert done["report"]["differences"] == [] and done["report"]["transactions"] == 1
    assert done["report"]["postings"] == 1 and done["report"]["accounts"] >= 2
    assert done["started_at"] == done["finished_at"] == "2026-01-01T00:00:00Z"
    assert gauges(api) == {
        "differences": 0.0,
        "last_run_timestamp_seconds": 1767225600.0,  # 2026-01-01T00:00:00Z
        "clean": 1.0,
    }
    [entry] = api.client.get(
        "/v1/admin/audit", params={"action": "reconcile.run"}, headers=api.admin()
    ).json()["data"]
    assert entry["target"] == f"reconcile_run:{run['id']}" and entry["status_code"] == 202


def test_a_corrupted_balance_is_seen_through_the_api_and_the_metric(api: Api) -> None:
    api.create_users("u1")
    api.grant("user:u1:coins", 70, "g-1")
    with unit_of_work(ctx_of(api).engine) as conn:
        conn.execute(update(accounts).where(accounts.c.path == "user:u1:coins").values(balance=75))
    api.clock.advance(timedelta(minutes=5))
    start(api)
    done = finished(api)
    assert done["state"] == "differences"
    diffs = done["report"]["differences"]
    assert done["differences"] == len(diffs) >= 2
    balance = next(d for d in diffs if d["check"] == "balance")
    assert "user:u1:coins" in balance["subject"]
    assert (balance["expected"], balance["actual"]) == (70, 75)
    assert any(d["check"] == "zero_sum" and "COIN" in d["subject"] for d in diffs)
    assert gauges(api) == {
        "differences": float(len(diffs)),
        "last_run_timestamp_seconds": 1767225600.0 + 300,
        "clean": 0.0,
    }


def test_one_run_at_a_time(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    real = service.run_reconcile

    def slow(engine: Any) -> ReconcileReport:
        entered.set()
        assert release.wait(60)
        return real(engine)

    monkeypatch.setattr(service, "run_reconcile", slow)
    first = start(api)
    assert entered.wait(60)
    second = start(api)
    assert second["id"] == first["id"] and second["state"] == "running"
    r = api.client.get(RECONCILE, headers=api.admin())
    assert r.json()["state"] == "running" and r.json()["finished_at"] is None
    release.set()
    assert finished(api)["state"] == "clean"
    runs = api.client.get(f"{RECONCILE}/runs", headers=api.admin()).json()
    assert [x["id"] for x in runs["data"]] == [first["id"]]
    third = start(api)  # once it has finished, asking again starts another
    assert third["id"] != first["id"]
    finished(api)


def test_a_failed_run_says_why_and_keeps_the_last_count(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(api)
    assert finished(api)["state"] == "clean"

    def broken(engine: Any) -> ReconcileReport:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "run_reconcile", broken)
    api.clock.advance(timedelta(hours=1))
    start(api)
    done = finished(api)
    assert (done["state"], done["differences"], done["report"]) == ("failed", None, None)
    assert done["error"] == "RuntimeError: the database went away"
    assert gauges(api) == {
        "differences": 0.0,
        "last_run_timestamp_seconds": 1767225600.0 + 3600,
        "clean": 0.0,
    }


def test_runs_pages_and_one_run(api: Api) -> None:
    ids = []
    for _ in range(3):
        ids.append(start(api)["id"])
        finished(api)
    page = api.client.get(f"{RECONCILE}/runs", params={"limit": 2}, headers=api.admin()).json()
    assert [x["id"] for x in page["data"]] == ids[::-1][:2]
    rest = api.client.get(
        f"{RECONCILE}/runs", params={"limit": 2, "cursor": page["next_cursor"]}, headers=api.admin()
    ).json()
    assert [x["id"] for x in rest["data"]] == [ids[0]] and rest["next_cursor"] is None
    one = api.client.get(f"{RECONCILE}/runs/{ids[0]}", headers=api.admin()).json()
    assert one["id"] == ids[0] and one["state"] == "clean"
    assert error(api.client.get(f"{RECONCILE}/runs/999", headers=api.admin())) == (404, "not_found")
    assert error(api.client.get(f"{RECONCILE}/runs/abc", headers=api.admin())) == (
        422,
        "validation_error",
    )
    r = api.client.get(f"{RECONCILE}/runs", params={"limit": 101}, headers=api.admin())
    assert error(r) == (422, "validation_error")


def test_only_admins(api: Api) -> None:
    api.create_users("u1")
    for method, path in (
        ("POST", RECONCILE),
        ("GET", RECONCILE),
        ("GET", f"{RECONCILE}/runs"),
        ("GET", f"{RECONCILE}/runs/1"),
    ):
        for headers, expected in (
            (api.user("u1"), (403, "forbidden")),
            (api.platform(), (403, "forbidden")),
            ({}, (401, "unauthenticated")),
        ):
            assert error(api.client.request(method, path, headers=headers)) == expected
    with ctx_of(api).engine.connect() as conn:
        assert conn.execute(select(reconcile_runs.c.id)).all() == []


def test_a_run_left_open_by_a_stopped_process(api: Api) -> None:
    """SQLite has one serving process: an open run that is not this process's was left by one
    that stopped. On PostgreSQL a recent one may be another process's and is answered; an old
    one is given up."""
    ctx = ctx_of(api)
    now = api.clock.now()
    with unit_of_work(ctx.engine) as conn:
        left = conn.execute(
            reconcile_runs.insert()
            .values(requested_by="schedule", requested_at=now, started_at=now, state="running")
            .returning(reconcile_runs.c.id)
        ).scalar_one()
    run = start(api)
    if ctx.engine.dialect.name == "sqlite":
        assert run["id"] != str(left)
    else:
        assert run["id"] == str(left)  # another process's, running
        api.clock.advance(service.STALE_AFTER + timedelta(seconds=1))
        run = start(api)
        assert run["id"] != str(left)
    finished(api)
    old = api.client.get(f"{RECONCILE}/runs/{left}", headers=api.admin()).json()
    assert old["state"] == "failed" and old["error"].startswith("abandoned")


def test_the_daily_run_and_its_checkpoint(api: Api) -> None:
    ctx = ctx_of(api)

    def due() -> None:
        api.client.portal.call(reconcile_if_due, ctx)  # type: ignore[union-attr]
        service.wait(ctx, timeout=120)

    def schedule_runs() -> list[str]:
        runs = api.client.get(f"{RECONCILE}/runs", headers=api.admin()).json()["data"]
        return [r["requested_at"] for r in runs if r["requested_by"] == "schedule"]

    due()
    assert schedule_runs() == ["2026-01-01T00:00:00Z"]
    due()
    api.clock.advance(timedelta(hours=23, minutes=59))
    due()
    assert schedule_runs() == ["2026-01-01T00:00:00Z"]
    api.clock.advance(timedelta(minutes=1))
    due()
    assert schedule_runs() == ["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]
    with ctx.engine.connect() as conn:
        [value] = conn.execute(
            select(job_state.c.value).where(job_state.c.name == service.DAILY_JOB)
        ).scalars()
    assert value.startswith("2026-01-02T00:00:00")
    assert service.run_if_due(ctx) is None  # checked again at once: not due


def test_the_gauges_start_from_the_last_stored_run(api: Api) -> None:
    """A fresh process shows what the last run found (here: 3 differences), not zeros."""
    ctx = ctx_of(api)
    now = api.clock.now()
    with unit_of_work(ctx.engine) as conn:
        conn.execute(
            reconcile_runs.insert().values(
                requested_by="schedule",
                requested_at=now - timedelta(hours=2),
                started_at=now - timedelta(hours=2),
                finished_at=now - timedelta(hours=1),
                state="differences",
                differences=3,
            )
        )
        conn.execute(
            job_state.insert().values(name=service.DAILY_JOB, value=now.isoformat(), updated_at=now)
        )
    api.client.portal.call(reconcile_if_due, ctx)  # type: ignore[union-attr]
    assert gauges(api) == {
        "differences": 3.0,
        "last_run_timestamp_seconds": 1767225600.0 - 3600,
        "clean": 0.0,
    }
    runs = api.client.get(f"{RECONCILE}/runs", headers=api.admin()).json()["data"]
    assert len(runs) == 1  # not due: nothing ran


def test_of_several_processes_one_claims_the_daily_run(api: Api) -> None:
    """The checkpoint moves by compare-and-set: a second claim of the same moment loses."""
    engine, now = ctx_of(api).engine, api.clock.now()
    first = repository.claim_job(engine, "test.job", expected=None, value="a", now=now)
    second = repository.claim_job(engine, "test.job", expected=None, value="b", now=now)
    assert (first, second) == (True, False)
    assert repository.claim_job(engine, "test.job", expected="a", value="c", now=now) is True
    assert repository.claim_job(engine, "test.job", expected="a", value="d", now=now) is False
    assert repository.job_value(engine, "test.job") == "c"
