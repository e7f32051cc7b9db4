"""Two requests with one code at the same moment: exactly one passes.

The verification reads the credential ``FOR UPDATE`` and writes its outcome in the same
transaction. To make the race certain rather than lucky, the locked read is slowed down: without
the row lock both requests would read the same last step (or the same unused recovery code), wait,
and both pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from giftflow.earnings.identity import repository, service
from giftflow.errors import SecondFactorInvalid, SecondFactorLocked

from .conftest import FactorApi, fapi

__all__ = ["fapi"]

RACERS = 4


def race(fapi: FactorApi, call: Callable[[], Any]) -> list[str]:
    """Run ``call`` in RACERS threads at once; each outcome as "ok" or the error's code."""
    barrier = threading.Barrier(RACERS)

    def one() -> str:
        barrier.wait()
        try:
            call()
        except (SecondFactorInvalid, SecondFactorLocked) as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(RACERS) as pool:
        return sorted(pool.map(lambda _: one(), range(RACERS)))


@pytest.fixture
def slow_locked_read(monkeypatch: pytest.MonkeyPatch) -> None:
    original = repository.credential

    def slow(conn: Any, user_id: str, *, lock: bool = False) -> Any:
        row = original(conn, user_id, lock=lock)
        if lock:
            time.sleep(0.2)  # the others arrive meanwhile
        return row

    monkeypatch.setattr(repository, "credential", slow)


@pytest.mark.usefixtures("slow_locked_read")
def test_one_totp_code_passes_once(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    code = fapi.next_code(factor.secret)
    outcomes = race(fapi, lambda: service.verify_second_factor(fapi.ctx, "alice", code))
    assert outcomes == ["ok"] + ["second_factor_invalid"] * (RACERS - 1)
    # every refusal was counted (and committed)
    state = fapi.factor_state("alice")
    assert state["locked_until"] is None
    r = fapi.verify("alice", fapi.wrong_code(factor.secret))
    assert r.json()["error"]["details"]["attempts_left"] == 5 - RACERS


@pytest.mark.usefixtures("slow_locked_read")
def test_one_recovery_code_passes_once(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    code = factor.recovery_codes[0]
    outcomes = race(fapi, lambda: service.verify_second_factor(fapi.ctx, "alice", code))
    assert outcomes == ["ok"] + ["second_factor_invalid"] * (RACERS - 1)
    assert fapi.factor_state("alice")["recovery_codes_left"] == 9


@pytest.mark.usefixtures("slow_locked_read")
def test_concurrent_wrong_codes_lock_once(fapi: FactorApi) -> None:
    factor = fapi.active_factor("alice")
    fapi.clock.advance(timedelta(minutes=1))
    wrong = fapi.wrong_code(factor.secret)
    assert fapi.verify("alice", wrong).status_code == 409
    assert fapi.verify("alice", wrong).status_code == 409
    outcomes = race(fapi, lambda: service.verify_second_factor(fapi.ctx, "alice", wrong))
    # failures 3, 4 and 5 (which locks), then the lock refuses the last one
    assert outcomes == ["second_factor_invalid"] * 2 + ["second_factor_locked"] * 2
    assert fapi.factor_state("alice")["locked_until"] == "2026-01-01T00:16:00Z"


def test_concurrent_first_enrolments_both_answer(fapi: FactorApi) -> None:
    """Two first enrolments at once: no duplicate-key error; the later one is the pending one."""
    fapi.person("alice")
    barrier = threading.Barrier(2)

    def enrol() -> str:
        barrier.wait()
        return service.enrol(fapi.ctx, "alice", None).secret

    with ThreadPoolExecutor(2) as pool:
        secrets = list(pool.map(lambda _: enrol(), range(2)))
    assert len(set(secrets)) == 2
    confirmed = [
        fapi.post("/v1/creator/totp/confirm", "alice", {"code": fapi.code(s)}).status_code
        for s in secrets
    ]
    assert sorted(confirmed) == [200, 409]
