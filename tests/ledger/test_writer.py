"""The batching writer against a real database: outcomes, isolation, idempotency, faults."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from sqlalchemy import Engine

from giftflow.clock import FrozenClock
from giftflow.errors import WriterOverloaded
from giftflow.ledger.commands import BatchContext, Command, TransferCommand
from giftflow.ledger.idempotency import Outcome
from giftflow.ledger.model import Posting
from giftflow.ledger.writer import LedgerWriter
from giftflow.schema import id_blocks

from .support import GRANTS, POLICY, assert_clean, balance, grant, key, transfer


def test_transfer_moves_value_and_books_balance(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:alice:coins", 100)
    out = transfer(writer, "user:alice:coins", "platform:revenue:gifts", 30)
    assert out.status == 201
    assert out.body["postings"] == [
        {
            "source": "user:alice:coins",
            "destination": "platform:revenue:gifts",
            "asset": "COIN",
            "amount": 30,
            "display": "30",
        }
    ]
    assert balance(reader, "user:alice:coins") == 70
    assert balance(reader, "platform:revenue:gifts") == 30
    assert balance(reader, GRANTS) == -100
    assert_clean(reader)


def test_overdraft_fails_alone_inside_one_batch(writer: LedgerWriter, reader: Engine) -> None:
    """Ten debits of 30 against 100 queued together: exactly three succeed, in order."""
    grant(writer, "user:alice:coins", 100)
    futures: list[Future[Outcome]] = [
        writer.submit_future(
            TransferCommand(
                [Posting("user:alice:coins", "platform:revenue:gifts", "COIN", 30)],
                policy_version=POLICY,
            )
        )
        for _ in range(10)
    ]
    outcomes = [f.result(30) for f in futures]
    assert [o.status for o in outcomes].count(201) == 3
    refused = [o for o in outcomes if o.status != 201]
    assert {o.error_code for o in refused} == {"insufficient_funds"}
    assert refused[0].body["error"]["details"]["available"] == 10
    assert balance(reader, "user:alice:coins") == 10
    assert balance(reader, "platform:revenue:gifts") == 90
    assert_clean(reader)


def test_multi_posting_transaction_is_atomic(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:alice:coins", 50)
    out = writer.execute(
        TransferCommand(
            [
                Posting("user:alice:coins", "platform:revenue:gifts", "COIN", 40),
                Posting("platform:diamonds:issued", "creator:carol:diamonds", "DIAMOND", 2000),
                Posting("user:alice:coins", "platform:revenue:gifts", "COIN", 20),
            ],
            policy_version=POLICY,
        )
    )
    assert out.error_code == "insufficient_funds"
    assert balance(reader, "user:alice:coins") == 50
    assert balance(reader, "creator:carol:diamonds", "DIAMOND") == 0
    assert_clean(reader)


def test_same_key_same_body_replays_first_outcome(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:alice:coins", 10)
    first = transfer(writer, "user:alice:coins", "platform:revenue:gifts", 10, idem="k1")
    again = transfer(writer, "user:alice:coins", "platform:revenue:gifts", 10, idem="k1")
    assert first.status == again.status == 201
    assert again.replayed and again.body == first.body
    assert balance(reader, "platform:revenue:gifts") == 10


def test_first_refusal_is_replayed_even_after_funds_arrive(
    writer: LedgerWriter, reader: Engine
) -> None:
    refused = transfer(writer, "user:alice:coins", "platform:revenue:gifts", 10, idem="k2")
    assert refused.error_code == "insufficient_funds"
    grant(writer, "user:alice:coins", 10)
    again = transfer(writer, "user:alice:coins", "platform:revenue:gifts", 10, idem="k2")
    assert again.error_code == "insufficient_funds" and again.replayed
    assert balance(reader, "platform:revenue:gifts") == 0


def test_same_key_different_body_is_refused(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:alice:coins", 10)
    transfer(writer, "user:alice:coins", "platform:revenue:gifts", 5, idem="k3")
    other = transfer(writer, "user:alice:coins", "platform:revenue:gifts", 6, idem="k3")
    assert other.status == 409 and other.error_code == "idempotency_key_reused"
    assert balance(reader, "platform:revenue:gifts") == 5


def test_duplicate_keys_in_one_batch_move_money_once(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:alice:coins", 100)
    futures = [
        writer.submit_future(
            TransferCommand(
                [Posting("user:alice:coins", "platform:revenue:gifts", "COIN", 7)],
                policy_version=POLICY,
            ),
            idempotency=key("dup", 7),
        )
        for _ in range(5)
    ]
    outcomes = [f.result(30) for f in futures]
    assert sum(1 for o in outcomes if o.status == 201 and not o.replayed) == 1
    assert balance(reader, "platform:revenue:gifts") == 7


class DuplicateBlockRows:
    """A feature extension whose set-based flush breaks a primary key for one staged row."""

    name = "test.poison"

    def flush(self, conn: object, rows: list[str]) -> None:
        conn.execute(  # type: ignore[attr-defined]
            id_blocks.insert(), [{"name": name, "next_value": 0} for name in rows]
        )


POISON_ROWS = DuplicateBlockRows()


class Poison(Command):
    """Stages a row that violates a constraint when the batch writes its extension rows."""

    kind = "poison"

    def apply(self, ctx: BatchContext) -> dict[str, object]:
        ctx.book.stage(POISON_ROWS, "ledger")  # 'ledger' already exists in id_blocks
        return {}


def test_poison_command_fails_alone(writer: LedgerWriter, reader: Engine) -> None:
    """A batch holding a constraint violation: every other command in it still commits."""
    grant(writer, "user:alice:coins", 100)
    items: list[Command] = [
        TransferCommand(
            [Posting("user:alice:coins", "platform:revenue:gifts", "COIN", 1)],
            policy_version=POLICY,
        )
        for _ in range(20)
    ]
    items.insert(7, Poison())
    futures = [writer.submit_future(c) for c in items]
    outcomes = [f.result(60) for f in futures]
    assert outcomes[7].status == 500 and outcomes[7].error_code == "ledger_write_failed"
    assert [o.status for n, o in enumerate(outcomes) if n != 7] == [201] * 20
    assert balance(reader, "platform:revenue:gifts") == 20
    assert_clean(reader)


def test_full_queue_is_refused_with_retry_after(database_url: str, reader: Engine) -> None:
    from giftflow.clock import FrozenClock
    from giftflow.db import make_engine

    engine = make_engine(database_url, writer=True)
    w = LedgerWriter(engine, FrozenClock(), queue_limit=3)
    w.start()

    def cmd() -> TransferCommand:
        return TransferCommand([Posting(GRANTS, "user:x:coins", "COIN", 1)], policy_version=POLICY)

    try:
        # Holding the writer's (re-entrant) lock keeps it from draining while we fill the queue.
        with w._cond:
            accepted = [w.submit_future(cmd()) for _ in range(3)]
            with pytest.raises(WriterOverloaded) as exc:
                w.submit_future(cmd())
        assert exc.value.status == 503 and exc.value.headers()["Retry-After"] == "1"
        assert [f.result(30).status for f in accepted] == [201, 201, 201]
    finally:
        w.stop()
        engine.dispose()
    assert balance(reader, "user:x:coins") == 3


def test_idempotency_keys_are_kept_24h_then_purged(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    from datetime import timedelta

    from giftflow.ledger.maintenance import PurgeIdempotencyKeys

    grant(writer, "user:a:coins", 10)
    first = transfer(writer, "user:a:coins", "platform:revenue:items", 1, idem="old")
    clock.advance(timedelta(hours=47))
    transfer(writer, "user:a:coins", "platform:revenue:items", 1, idem="new")
    assert writer.execute(PurgeIdempotencyKeys(timedelta(hours=48))).body == {"purged": 0}
    clock.advance(timedelta(hours=2))
    assert writer.execute(PurgeIdempotencyKeys(timedelta(hours=48))).body == {"purged": 1}
    # within retention the key still replays; after the purge it is a new request
    assert transfer(writer, "user:a:coins", "platform:revenue:items", 1, idem="new").replayed
    again = transfer(writer, "user:a:coins", "platform:revenue:items", 1, idem="old")
    assert not again.replayed and again.body["id"] != first.body["id"]


def test_unreachable_database_answers_503_without_splitting() -> None:
    from giftflow.db import make_engine

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", writer=True)
    w = LedgerWriter(engine, FrozenClock())
    w.start()
    try:
        futures = [
            w.submit_future(
                TransferCommand([Posting(GRANTS, "user:x:coins", "COIN", 1)], policy_version=POLICY)
            )
            for _ in range(8)
        ]
        outcomes = [f.result(60) for f in futures]
    finally:
        w.stop()
        engine.dispose()
    assert {(o.status, o.error_code) for o in outcomes} == {(503, "unavailable")}
