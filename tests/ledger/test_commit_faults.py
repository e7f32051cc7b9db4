"""When COMMIT itself fails the outcome is unknown: the writer finds it out before answering."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from giftflow.ledger.commands import TransferCommand
from giftflow.ledger.model import Posting
from giftflow.ledger.writer import LedgerWriter

from .conftest import CommitFaults
from .support import POLICY, assert_clean, balance, grant, transfer


def test_commit_that_landed_is_answered_from_the_store(
    writer: LedgerWriter, reader: Engine, commit_faults: CommitFaults
) -> None:
    grant(writer, "user:a:coins", 10)
    commit_faults.next("landed")
    out = transfer(writer, "user:a:coins", "platform:revenue:items", 4, idem="lost-ack")
    assert out.status == 201
    assert balance(reader, "platform:revenue:items") == 4
    again = transfer(writer, "user:a:coins", "platform:revenue:items", 4, idem="lost-ack")
    assert again.replayed and again.body == out.body
    assert balance(reader, "platform:revenue:items") == 4


def test_commit_that_did_not_land_is_retried_once(
    writer: LedgerWriter, reader: Engine, commit_faults: CommitFaults
) -> None:
    grant(writer, "user:a:coins", 10)
    commit_faults.next("lost")
    out = transfer(writer, "user:a:coins", "platform:revenue:items", 4, idem="lost-commit")
    assert out.status == 201
    assert balance(reader, "platform:revenue:items") == 4
    assert balance(reader, "user:a:coins") == 6


def test_keyless_batch_whose_commit_landed_is_not_applied_twice(
    writer: LedgerWriter, reader: Engine, commit_faults: CommitFaults
) -> None:
    """No idempotency key to look up: the batch's own transaction row proves the commit."""
    grant(writer, "user:a:coins", 10)
    commit_faults.next("landed")
    out = transfer(writer, "user:a:coins", "platform:revenue:items", 3)
    assert out.status == 201
    assert balance(reader, "platform:revenue:items") == 3
    assert transfer(writer, "user:a:coins", "platform:revenue:items", 1).status == 201
    assert balance(reader, "platform:revenue:items") == 4


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_commit_dropped_while_still_landing_is_not_applied_twice(
    writer: LedgerWriter, reader: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops right after COMMIT is sent, while the server is still committing
    (a deferred trigger makes this COMMIT take 1.5 s). Looking for the batch's rows at once would
    find nothing and run the keyless batch again; the writer must wait for the server's verdict
    on the transaction id instead."""
    with reader.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF NEW.memo = 'slow-commit' THEN PERFORM pg_sleep(1.5); END IF; "
                "RETURN NULL; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON transactions "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()"
            )
        )
    original = Connection.commit
    armed = [True]

    def drop_during_commit(conn: Connection) -> None:
        if not armed:
            original(conn)
            return
        armed.clear()
        raw = conn.connection.dbapi_connection
        pgconn = raw.pgconn  # type: ignore[union-attr]
        pgconn.send_query(b"COMMIT")
        while pgconn.flush():
            pass
        conn.invalidate()  # the client is gone; the server goes on committing
        raise OperationalError("COMMIT", {}, Exception("connection dropped during COMMIT"))

    monkeypatch.setattr(Connection, "commit", drop_during_commit)
    out = writer.execute(
        TransferCommand(
            [Posting("platform:equity:grants", "user:a:coins", "COIN", 5)],
            memo="slow-commit",
            policy_version=POLICY,
        )
    )
    assert out.status == 201, out.body
    time.sleep(2)  # had it been applied again, that commit would have landed by now
    assert balance(reader, "user:a:coins") == 5
    assert_clean(reader)
