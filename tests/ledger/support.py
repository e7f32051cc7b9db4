"""Small helpers for ledger tests: submit commands and read balances back."""

from __future__ import annotations

from sqlalchemy import Engine

from giftflow.ledger import read_repository as reads
from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.idempotency import IdempotencyRequest, Outcome, fingerprint
from giftflow.ledger.model import Posting
from giftflow.ledger.reconcile_repository import reconcile
from giftflow.ledger.writer import LedgerWriter

GRANTS = "platform:equity:grants"
POLICY = "standard@1"  # the policy version test transactions record


def key(name: str, payload: object = None, scope: str = "test") -> IdempotencyRequest:
    return IdempotencyRequest(scope, name, fingerprint(payload if payload is not None else name))


def transfer(
    writer: LedgerWriter,
    source: str,
    destination: str,
    amount: int,
    asset: str = "COIN",
    idem: str | None = None,
) -> Outcome:
    payload = [source, destination, asset, amount]
    return writer.execute(
        TransferCommand([Posting(source, destination, asset, amount)], policy_version=POLICY),
        idempotency=key(idem, payload) if idem else None,
    )


def grant(writer: LedgerWriter, account: str, amount: int, asset: str = "COIN") -> Outcome:
    outcome = transfer(writer, GRANTS, account, amount, asset)
    assert outcome.status == 201, outcome.body
    return outcome


def balance(engine: Engine, path: str, asset: str = "COIN") -> int:
    with engine.connect() as conn:
        rows = reads.balances(conn, path=path)
    return sum(total for _, row_asset, total in rows if row_asset == asset)


def assert_clean(engine: Engine) -> None:
    assert reconcile(engine).differences == []
