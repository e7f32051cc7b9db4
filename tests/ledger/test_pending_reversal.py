"""Pending transfers (post, void, expiry) and reversals, with balances checked by hand."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from giftflow.clock import FrozenClock
from giftflow.ledger.pending import CreatePending, ExpirePending, ResolvePending
from giftflow.ledger.reversal import ReverseTransaction
from giftflow.ledger.writer import LedgerWriter

from .support import assert_clean, balance, grant, transfer

HOLD = "platform:holding:pending"


def create(writer: LedgerWriter, clock: FrozenClock, amount: int, ttl: int | None = 60) -> str:
    out = writer.execute(
        CreatePending(
            "creator:c1:diamonds",
            "payouts:in_flight",
            "DIAMOND",
            amount,
            expires_at=clock.now() + timedelta(seconds=ttl) if ttl else None,
        )
    )
    assert out.status == 201, out.body
    assert out.body["state"] == "pending"
    return str(out.body["id"])


def test_pending_reserves_then_posts(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    pid = create(writer, clock, 600)
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 400
    assert balance(reader, HOLD, "DIAMOND") == 600
    # the reserved amount cannot be spent twice
    assert transfer(writer, "creator:c1:diamonds", "user:u:coins", 500, "DIAMOND").status == 409
    posted = writer.execute(ResolvePending(int(pid), "post"))
    assert posted.status == 200 and posted.body["state"] == "posted"
    assert balance(reader, "payouts:in_flight", "DIAMOND") == 600
    assert balance(reader, HOLD, "DIAMOND") == 0
    again = writer.execute(ResolvePending(int(pid), "void"))
    assert again.error_code == "pending_transfer_not_pending"
    assert_clean(reader)


def test_void_returns_value_to_source(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    pid = create(writer, clock, 1000)
    voided = writer.execute(ResolvePending(int(pid), "void"))
    assert voided.body["state"] == "voided"
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 1000
    assert balance(reader, "payouts:in_flight", "DIAMOND") == 0
    assert_clean(reader)


def test_expiry_voids_unless_submitted(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    stale = create(writer, clock, 100, ttl=60)
    handed_over = create(writer, clock, 200, ttl=60)
    forever = create(writer, clock, 300, ttl=None)
    assert writer.execute(ResolvePending(int(handed_over), "submit")).body["submitted"] is True
    clock.advance(timedelta(seconds=61))
    assert writer.execute(ResolvePending(int(stale), "post")).error_code == (
        "pending_transfer_expired"
    )
    swept = writer.execute(ExpirePending())
    assert swept.body == {"voided": [stale]}
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 1000 - 200 - 300
    # a submitted transfer can still be posted after its expiry
    assert writer.execute(ResolvePending(int(handed_over), "post")).body["state"] == "posted"
    assert writer.execute(ResolvePending(int(forever), "void")).body["state"] == "voided"
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 800
    assert_clean(reader)


def test_reversal_moves_every_posting_back_once(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:a:coins", 100)
    original = transfer(writer, "user:a:coins", "user:b:coins", 40)
    txn_id = int(original.body["id"])
    rev = writer.execute(ReverseTransaction(txn_id))
    assert rev.status == 201
    assert rev.body["reverses"] == str(txn_id)
    assert rev.body["postings"][0]["source"] == "user:b:coins"
    assert balance(reader, "user:a:coins") == 100
    assert balance(reader, "user:b:coins") == 0
    assert writer.execute(ReverseTransaction(txn_id)).error_code == "already_reversed"
    assert writer.execute(ReverseTransaction(int(rev.body["id"]))).error_code == "not_reversible"
    assert writer.execute(ReverseTransaction(999_999)).error_code == "not_found"
    assert_clean(reader)


def test_reversal_refused_when_destination_spent(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:a:coins", 100)
    txn_id = int(transfer(writer, "user:a:coins", "user:b:coins", 40).body["id"])
    transfer(writer, "user:b:coins", "platform:revenue:gifts", 30)
    refused = writer.execute(ReverseTransaction(txn_id))
    assert refused.error_code == "insufficient_funds"
    assert balance(reader, "user:b:coins") == 10
    assert_clean(reader)
