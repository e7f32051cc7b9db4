"""A small deterministic simulator in the spirit of TigerBeetle's: rounds of concurrent keyed
transfers, retries and poison commands, with COMMIT failing at random (before or after it took
effect). After every round: each acknowledged success applied exactly once, a retried key answers
its first outcome, no user balance below zero, and reconcile is clean."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from giftflow.ledger import read_repository as reads
from giftflow.ledger.commands import Command, TransferCommand
from giftflow.ledger.idempotency import Outcome
from giftflow.ledger.model import Posting
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.ledger.writer import LedgerWriter

from .conftest import CommitFaults
from .support import GRANTS, POLICY, key
from .test_writer import Poison

USERS = ["user:f1:coins", "user:f2:coins", "user:f3:coins"]
SPENT = "platform:revenue:gifts"

transfer_op = st.tuples(
    st.just("transfer"),
    st.sampled_from([GRANTS, *USERS]),
    st.sampled_from(USERS),
    st.integers(min_value=1, max_value=50),
)
op = st.one_of(transfer_op, st.just(("poison",)), st.just(("retry",)))
rounds = st.lists(
    st.tuples(st.lists(op, min_size=1, max_size=12), st.sampled_from(["none", "lost", "landed"])),
    min_size=1,
    max_size=5,
)


def balances(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {path: total for path, asset, total in reads.balances(conn) if asset == "COIN"}


def test_faults_never_lose_or_double_an_acknowledged_write(
    writer: LedgerWriter, reader: Engine, commit_faults: CommitFaults
) -> None:
    counter = iter(range(10**9))

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan=rounds)
    def simulate(plan: list[tuple[list[tuple[Any, ...]], str]]) -> None:
        model = balances(reader)
        first: dict[str, tuple[Any, Outcome, list[Posting]]] = {}
        for ops, fault in plan:
            commit_faults.plan = [fault]
            submitted: list[tuple[Command, Any, list[Posting] | None]] = []
            for o in ops:
                if o[0] == "poison":
                    submitted.append((Poison(), None, None))
                    continue
                if o[0] == "retry":
                    if not first:
                        continue
                    name = sorted(first)[next(counter) % len(first)]
                    ireq, _, chosen = first[name]
                    postings = list(chosen)
                else:
                    _, src, dst, amount = o
                    if src.startswith("user:"):
                        dst = SPENT  # coins never move between users
                    postings = [Posting(src, dst, "COIN", amount)]
                    ireq = key(f"sim-{next(counter)}", [src, dst, amount])
                submitted.append((TransferCommand(postings, policy_version=POLICY), ireq, postings))
            futures = [writer.submit_future(c, idempotency=k) for c, k, _ in submitted]
            for (cmd, ireq, sent), fut in zip(submitted, futures, strict=True):
                out = fut.result(60)
                if isinstance(cmd, Poison):
                    assert out.error_code == "ledger_write_failed"
                    continue
                assert ireq is not None and sent is not None
                earlier = first.get(ireq.key)
                if earlier is not None and out.error_code != "idempotency_key_in_flight":
                    assert out.status == earlier[1].status and out.body == earlier[1].body
                    assert out.replayed
                    continue
                assert out.status in (201, 409), out.body
                if out.status == 201 and not out.replayed:
                    for p in sent:
                        model[p.source] = model.get(p.source, 0) - p.amount
                        model[p.destination] = model.get(p.destination, 0) + p.amount
                if out.error_code != "idempotency_key_in_flight":
                    first.setdefault(ireq.key, (ireq, out, sent))
            db = balances(reader)
            assert {k: v for k, v in db.items() if v} == {k: v for k, v in model.items() if v}
            assert all(db.get(u, 0) >= 0 for u in USERS)
            assert reconcile(reader).differences == []

    simulate()
