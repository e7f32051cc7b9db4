"""Hypothesis drives random transfers, holds, voids, reversals, retries and overdrafts at the
writer, and checks the books after every step: per-asset sums are zero, every balance equals the
fold of its postings (reconcile), no user balance is negative, the database agrees with a model,
and a reused key returns its first result."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from giftflow.errors import CoinsNotTransferable
from giftflow.ledger import read_repository as reads
from giftflow.ledger.commands import Command, TransferCommand
from giftflow.ledger.idempotency import Outcome
from giftflow.ledger.model import Posting
from giftflow.ledger.pending import CreatePending, PendingAction, ResolvePending
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.ledger.reversal import ReverseTransaction
from giftflow.ledger.writer import LedgerWriter

from .support import POLICY, key

USERS = ["user:s1:coins", "user:s2:coins", "user:s3:coins"]
SINKS = ["platform:revenue:gifts", "platform:revenue:items", "platform:equity:corrections"]
ALL = [*SINKS, "platform:equity:grants"]
HOLD = "platform:holding:pending"
amounts = st.integers(min_value=1, max_value=60)


def run(writer: LedgerWriter, engine: Engine) -> None:
    class Ledger(RuleBasedStateMachine):
        txns = Bundle("txns")
        pendings = Bundle("pendings")
        keys = Bundle("keys")

        def __init__(self) -> None:
            super().__init__()
            self.run_id = uuid.uuid4().hex[:8]
            self.model = self.db_balances()
            self.n = 0

        def db_balances(self) -> dict[str, int]:
            with engine.connect() as conn:
                rows = reads.balances(conn)
            return {path: total for path, asset, total in rows if asset == "COIN"}

        def apply(self, postings: list[tuple[str, str, int]]) -> None:
            for src, dst, amount in postings:
                self.model[src] = self.model.get(src, 0) - amount
                self.model[dst] = self.model.get(dst, 0) + amount

        def execute(self, cmd: Command, ireq: Any = None) -> Outcome:
            outcome = writer.execute(cmd, idempotency=ireq)
            assert outcome.status < 500, outcome.body
            if outcome.ok and not outcome.replayed:
                body = outcome.body.get("transaction", outcome.body)
                self.apply([(p["source"], p["destination"], p["amount"]) for p in body["postings"]])
            return outcome

        def fresh_key(self, body: Any) -> Any:
            self.n += 1
            return key(f"{self.run_id}-{self.n}", body)

        @rule(target=txns, dst=st.sampled_from(USERS), amount=amounts)
        def grant(self, dst: str, amount: int) -> str:
            out = self.execute(
                TransferCommand(
                    [Posting("platform:equity:grants", dst, "COIN", amount)], policy_version=POLICY
                )
            )
            return str(out.body["id"])

        @rule(target=keys, src=st.sampled_from(USERS), dst=st.sampled_from(ALL), amount=amounts)
        def keyed_transfer(
            self, src: str, dst: str, amount: int
        ) -> tuple[Any, Outcome, str, str, int]:
            body = [src, dst, amount]
            ireq = self.fresh_key(body)
            out = self.execute(
                TransferCommand([Posting(src, dst, "COIN", amount)], policy_version=POLICY), ireq
            )
            before = self.model.get(src, 0) + (amount if out.status == 201 else 0)
            assert (out.status == 201) == (before >= amount), (out.body, before)
            return (ireq, out, src, dst, amount)

        @rule(item=keys, same_body=st.booleans())
        def retry(self, item: tuple[Any, Outcome, str, str, int], same_body: bool) -> None:
            ireq, first, src, dst, amount = item
            if same_body:
                again = self.execute(
                    TransferCommand([Posting(src, dst, "COIN", amount)], policy_version=POLICY),
                    ireq,
                )
                assert again.replayed and again.status == first.status
                assert again.body == first.body
            else:
                changed = type(ireq)(ireq.scope, ireq.key, "0" * 64)
                again = self.execute(
                    TransferCommand([Posting(src, dst, "COIN", amount + 1)], policy_version=POLICY),
                    changed,
                )
                assert again.status == 409 and again.error_code == "idempotency_key_reused"

        @rule(src=st.sampled_from(USERS), amounts_=st.lists(amounts, min_size=2, max_size=8))
        def burst_in_one_batch(self, src: str, amounts_: list[int]) -> None:
            """Several debits queued together: each is checked against the running balance."""
            futures = [
                writer.submit_future(
                    TransferCommand(
                        [Posting(src, "platform:revenue:gifts", "COIN", a)], policy_version=POLICY
                    )
                )
                for a in amounts_
            ]
            for a, f in zip(amounts_, futures, strict=True):
                out = f.result(30)
                ok = self.model.get(src, 0) >= a
                assert (out.status == 201) == ok, (out.body, self.model.get(src, 0), a)
                if ok:
                    self.apply([(src, "platform:revenue:gifts", a)])

        @rule(target=txns, src=st.sampled_from(USERS), dst=st.sampled_from(SINKS), amount=amounts)
        def transfer(self, src: str, dst: str, amount: int) -> str:
            out = self.execute(
                TransferCommand([Posting(src, dst, "COIN", amount)], policy_version=POLICY)
            )
            return str(out.body["id"]) if out.status == 201 else "0"

        @rule(src=st.sampled_from(USERS), dst=st.sampled_from(USERS), amount=amounts)
        def coins_between_users(self, src: str, dst: str, amount: int) -> None:
            """Never allowed: refused before it reaches the writer, nothing moves."""
            if src == dst:
                return
            with pytest.raises(CoinsNotTransferable):
                TransferCommand([Posting(src, dst, "COIN", amount)], policy_version=POLICY)

        @rule(txn=consumes(txns))
        def reverse(self, txn: str) -> None:
            if txn == "0":
                return
            out = self.execute(ReverseTransaction(int(txn)))
            assert out.status == 201 or out.error_code in ("insufficient_funds", "already_reversed")

        @rule(
            target=pendings, src=st.sampled_from(USERS), dst=st.sampled_from(SINKS), amount=amounts
        )
        def hold(self, src: str, dst: str, amount: int) -> str:
            out = self.execute(
                CreatePending(src, dst, "COIN", amount, expires_at=None, policy_version=POLICY)
            )
            return str(out.body["id"]) if out.status == 201 else "0"

        @rule(
            pending=consumes(pendings),
            action=st.sampled_from([PendingAction.POST, PendingAction.VOID]),
        )
        def resolve(self, pending: str, action: PendingAction) -> None:
            if pending == "0":
                return
            out = self.execute(ResolvePending(int(pending), action))
            assert out.status == 200, out.body

        @invariant()
        def books_balance(self) -> None:
            assert reconcile(engine).differences == []
            db = self.db_balances()
            for path in USERS:
                assert db.get(path, 0) >= 0
            for path, value in self.model.items():
                if path != HOLD:
                    assert db.get(path, 0) == value, path

    run_state_machine_as_test(
        Ledger, settings=settings(max_examples=12, stateful_step_count=25, deadline=None)
    )


def test_random_operations_keep_every_invariant(writer: LedgerWriter, reader: Engine) -> None:
    run(writer, reader)
