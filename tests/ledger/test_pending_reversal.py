"""Pending transfers (post, void, expiry) and reversals, with balances checked by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from giftflow.clock import FrozenClock
from giftflow.ledger.pending import CreatePending, ExpirePending, PendingAction, ResolvePending
from giftflow.ledger.reversal import ReverseTransaction
from giftflow.ledger.writer import LedgerWriter

from .support import POLICY, assert_clean, balance, grant, transfer

HOLD = "platform:holding:pending"
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def create(writer: LedgerWriter, clock: FrozenClock, amount: int, ttl: int | None = 60) -> str:
    out = writer.execute(
        CreatePending(
            "creator:c1:diamonds",
            "payouts:in_flight",
            "DIAMOND",
            amount,
            expires_at=clock.now() + timedelta(seconds=ttl) if ttl else None,
            policy_version=POLICY,
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
    assert (
        transfer(writer, "creator:c1:diamonds", "payouts:in_flight", 500, "DIAMOND").status == 409
    )
    posted = writer.execute(ResolvePending(int(pid), PendingAction.POST))
    assert posted.status == 200 and posted.body["state"] == "posted"
    assert balance(reader, "payouts:in_flight", "DIAMOND") == 600
    assert balance(reader, HOLD, "DIAMOND") == 0
    again = writer.execute(ResolvePending(int(pid), PendingAction.VOID))
    assert again.error_code == "pending_transfer_not_pending"
    assert_clean(reader)


def test_void_returns_value_to_source(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    pid = create(writer, clock, 1000)
    voided = writer.execute(ResolvePending(int(pid), PendingAction.VOID))
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
    assert (
        writer.execute(ResolvePending(int(handed_over), PendingAction.SUBMIT)).body["submitted"]
        is True
    )
    clock.advance(timedelta(seconds=61))
    assert writer.execute(ResolvePending(int(stale), PendingAction.POST)).error_code == (
        "pending_transfer_expired"
    )
    swept = writer.execute(ExpirePending())
    assert swept.body == {"voided": [stale]}
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 1000 - 200 - 300
    # a submitted transfer can still be posted after its expiry
    assert (
        writer.execute(ResolvePending(int(handed_over), PendingAction.POST)).body["state"]
        == "posted"
    )
    assert (
        writer.execute(ResolvePending(int(forever), PendingAction.VOID)).body["state"] == "voided"
    )
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 800
    assert_clean(reader)


def test_reversal_moves_every_posting_back_once(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:a:coins", 100)
    original = transfer(writer, "user:a:coins", "platform:revenue:items", 40)
    txn_id = int(original.body["id"])
    rev = writer.execute(ReverseTransaction(txn_id))
    assert rev.status == 201
    assert rev.body["reverses"] == str(txn_id)
    assert rev.body["postings"][0]["source"] == "platform:revenue:items"
    assert balance(reader, "user:a:coins") == 100
    assert balance(reader, "platform:revenue:items") == 0
    assert writer.execute(ReverseTransaction(txn_id)).error_code == "already_reversed"
    assert writer.execute(ReverseTransaction(int(rev.body["id"]))).error_code == "not_reversible"
    assert writer.execute(ReverseTransaction(999_999)).error_code == "not_found"
    assert_clean(reader)


def test_reversal_refused_when_destination_spent(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:a:coins", 100)
    txn_id = int(transfer(writer, "user:a:coins", "platform:revenue:items", 40).body["id"])
    transfer(writer, "platform:revenue:items", "platform:revenue:gifts", 30)
    refused = writer.execute(ReverseTransaction(txn_id))
    assert refused.error_code == "insufficient_funds"
    assert balance(reader, "platform:revenue:items") == 10
    assert_clean(reader)


def test_expire_is_refused_when_submitted_or_not_yet_expired(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    early = create(writer, clock, 100, ttl=60)
    handed = create(writer, clock, 200, ttl=60)
    assert writer.execute(ResolvePending(int(early), PendingAction.EXPIRE)).error_code == (
        "pending_transfer_not_expired"
    )
    writer.execute(ResolvePending(int(handed), PendingAction.SUBMIT))
    clock.advance(timedelta(seconds=61))
    assert writer.execute(ResolvePending(int(handed), PendingAction.EXPIRE)).error_code == (
        "pending_transfer_submitted"
    )
    assert writer.execute(ResolvePending(int(early), PendingAction.EXPIRE)).body["state"] == (
        "voided"
    )
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 800
    assert balance(reader, HOLD, "DIAMOND") == 200
    assert_clean(reader)


def second_writer(database_url: str, clock: FrozenClock, shard: int) -> LedgerWriter:
    from giftflow.db import make_engine

    w = LedgerWriter(make_engine(database_url, writer=True), clock, shard=shard)
    w.start()
    return w


def test_two_writers_with_clocks_apart_never_void_a_submitted_transfer(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock, database_url: str
) -> None:
    """Writer B's clock is 5 s behind: it may still submit what writer A considers expired;
    A's sweep afterwards leaves it alone, and a late sweep by B changes nothing either."""
    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    pid = create(writer, clock, 300, ttl=60)
    behind = FrozenClock(clock.now())
    b = second_writer(database_url, behind, shard=2)
    try:
        clock.advance(timedelta(seconds=62))  # A: expired by 2 s
        behind.advance(timedelta(seconds=57))  # B: 3 s to go
        assert b.execute(ResolvePending(int(pid), PendingAction.SUBMIT)).body["submitted"]
        assert writer.execute(ExpirePending()).body == {"voided": []}
        assert writer.execute(ResolvePending(int(pid), PendingAction.EXPIRE)).error_code == (
            "pending_transfer_submitted"
        )
        assert b.execute(ResolvePending(int(pid), PendingAction.POST)).body["state"] == "posted"
    finally:
        b.stop()
        b.engine.dispose()
    assert balance(reader, "payouts:in_flight", "DIAMOND") == 300
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 700
    assert_clean(reader)


@POSTGRES_ONLY
def test_sweep_rechecks_a_transfer_submitted_while_it_waited_for_the_lock(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    """Another process holds the row lock, marks the transfer submitted and commits while the
    sweep waits; the sweep must see the submitted row under its lock and leave it pending."""
    import threading

    from sqlalchemy import text

    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    pid = int(create(writer, clock, 400, ttl=60))
    clock.advance(timedelta(seconds=61))
    other = reader.connect()
    tx = other.begin()
    other.execute(text("SELECT id FROM pending_transfers WHERE id = :p FOR UPDATE"), {"p": pid})
    swept = writer.submit_future(ExpirePending())
    waiting = threading.Event()
    # the sweep has picked its candidate and now waits on our lock
    for _ in range(100):
        blocked = reader.connect()
        try:
            waits = blocked.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            ).scalar_one()
        finally:
            blocked.close()
        if waits:
            waiting.set()
            break
        threading.Event().wait(0.05)
    assert waiting.is_set(), "the sweep never waited for the row lock"
    other.execute(text("UPDATE pending_transfers SET submitted = true WHERE id = :p"), {"p": pid})
    tx.commit()
    other.close()
    assert swept.result(30).body == {"voided": []}
    assert balance(reader, HOLD, "DIAMOND") == 400
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 600
    assert_clean(reader)


def test_expiry_times_in_any_offset_are_stored_in_utc(
    writer: LedgerWriter, reader: Engine, clock: FrozenClock
) -> None:
    """An expiry written in -05:00 or +09:00 fires at that instant, not hours early or late."""
    from datetime import timezone

    from giftflow.ledger import read_repository as reads

    grant(writer, "creator:c1:diamonds", 1000, "DIAMOND")
    ids = []
    for hours in (-5, 9):
        zone = timezone(timedelta(hours=hours))
        expires = (clock.now() + timedelta(hours=1)).astimezone(zone)
        out = writer.execute(
            CreatePending(
                "creator:c1:diamonds",
                "payouts:in_flight",
                "DIAMOND",
                100,
                expires_at=expires,
                policy_version=POLICY,
            )
        )
        ids.append(out.body["id"])
        with reader.connect() as conn:
            stored = reads.pending(conn, int(out.body["id"]))
        assert stored is not None
        assert stored["expires_at"] == "2026-01-01T01:00:00Z"
    clock.advance(timedelta(minutes=59))
    assert writer.execute(ExpirePending()).body == {"voided": []}
    clock.advance(timedelta(minutes=1))
    assert sorted(writer.execute(ExpirePending()).body["voided"]) == sorted(ids)
    assert_clean(reader)


def test_reversal_of_a_multi_posting_transaction_moves_every_posting_back(
    writer: LedgerWriter, reader: Engine
) -> None:
    from giftflow.ledger.commands import TransferCommand
    from giftflow.ledger.model import Posting

    grant(writer, "user:a:coins", 100)
    gift = writer.execute(
        TransferCommand(
            [
                Posting("user:a:coins", "platform:revenue:gifts", "COIN", 30),
                Posting("platform:diamonds:issued", "creator:c1:diamonds", "DIAMOND", 1500),
                Posting("user:a:coins", "platform:revenue:items", "COIN", 5),
            ],
            policy_version="seed-002@1",
        )
    )
    rev = writer.execute(ReverseTransaction(int(gift.body["id"])))
    assert rev.status == 201
    moved = sorted((p["source"], p["destination"], p["amount"]) for p in rev.body["postings"])
    assert moved == [
        ("creator:c1:diamonds", "platform:diamonds:issued", 1500),
        ("platform:revenue:gifts", "user:a:coins", 30),
        ("platform:revenue:items", "user:a:coins", 5),
    ]
    assert rev.body["policy_version"] == "seed-002@1"  # the version the original was made under
    assert balance(reader, "user:a:coins") == 100
    assert balance(reader, "creator:c1:diamonds", "DIAMOND") == 0
    assert balance(reader, "platform:revenue:gifts") == 0
    assert_clean(reader)
