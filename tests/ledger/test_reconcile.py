"""Reconcile reports every difference at once, and the CLI exits non-zero on any."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Select, insert, select, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from giftflow.cli import app
from giftflow.ledger import reconcile_repository as repo
from giftflow.ledger.pending import CreatePending
from giftflow.ledger.reconcile import check
from giftflow.ledger.reconcile_repository import gather, reconcile
from giftflow.ledger.writer import LedgerWriter
from giftflow.schema import accounts, postings, transactions
from giftflow.settings import get_settings

from .support import POLICY, assert_clean, balance, grant, transfer


def run_cli(monkeypatch: pytest.MonkeyPatch, url: str) -> tuple[int, str]:
    monkeypatch.setenv("GIFTFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reconcile"], env={"COLUMNS": "200"})
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_clean_books_exit_zero(
    writer: LedgerWriter, reader: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant(writer, "user:a:coins", 50)
    transfer(writer, "user:a:coins", "platform:revenue:gifts", 20)
    code, output = run_cli(monkeypatch, database_url)
    assert code == 0, output
    assert "clean" in output


def test_tampered_books_report_every_difference(
    writer: LedgerWriter, reader: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant(writer, "user:a:coins", 50)
    grant(writer, "user:b:coins", 5)
    with reader.begin() as conn:
        conn.execute(text("UPDATE accounts SET balance = 49 WHERE path = 'user:a:coins'"))
        conn.execute(text("UPDATE accounts SET balance = 7 WHERE path = 'user:b:coins'"))
    report = reconcile(reader)
    found = {(d.check, d.subject, d.expected, d.actual) for d in report.differences}
    assert found == {
        ("balance", "user:a:coins [COIN]", 50, 49),
        ("balance", "user:b:coins [COIN]", 5, 7),
        ("zero_sum", "COIN", 0, 1),
    }
    code, output = run_cli(monkeypatch, database_url)
    assert code == 1
    assert "3 difference(s)" in output and "zero_sum" in output


def test_orphan_posting_is_reported(writer: LedgerWriter, reader: Engine) -> None:
    txn = grant(writer, "user:a:coins", 5)
    with reader.begin() as conn:
        conn.execute(
            text("UPDATE postings SET credit_account_id = 999999 WHERE txn_id = :t"),
            {"t": int(txn.body["id"])},
        )
    checks = {d.check for d in reconcile(reader).differences}
    assert "posting_account" in checks


# --- one tamper per check, on both databases ----------------------------------------------------

Found = tuple[str, str, int | str, int | str]
HOLD = "platform:holding:pending"
GIFTS = "platform:revenue:gifts"
BIG_ID = 10**12  # transaction ids far above anything the writer hands out


def found(engine: Engine) -> set[Found]:
    return {(d.check, d.subject, d.expected, d.actual) for d in reconcile(engine).differences}


def account_id(conn: Connection, path: str, asset: str = "COIN") -> int:
    return int(
        conn.execute(
            select(accounts.c.id).where(accounts.c.path == path, accounts.c.asset == asset)
        ).scalar_one()
    )


def add_account(
    conn: Connection, path: str, asset: str, *, may_go_negative: bool, balance: int = 0
) -> int:
    result = conn.execute(
        insert(accounts).values(
            path=path,
            asset=asset,
            shard=0,
            owner_id=None,
            may_go_negative=may_go_negative,
            balance=balance,
            created_at=datetime.now(UTC),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_transaction(conn: Connection, txn_id: int) -> None:
    conn.execute(
        insert(transactions).values(
            id=txn_id,
            kind="transfer",
            reverses_id=None,
            policy_version=POLICY,
            memo=None,
            meta=None,
            created_at=datetime.now(UTC),
        )
    )


def spend(writer: LedgerWriter) -> int:
    """Grant a 50 and spend 20 on gifts; the id of the spending transaction."""
    grant(writer, "user:a:coins", 50)
    outcome = transfer(writer, "user:a:coins", GIFTS, 20)
    assert outcome.status == 201, outcome.body
    return int(outcome.body["id"])


def test_balance_tamper_is_reported_with_zero_sum(writer: LedgerWriter, reader: Engine) -> None:
    spend(writer)
    assert_clean(reader)
    with reader.begin() as conn:
        conn.execute(text("UPDATE accounts SET balance = 33 WHERE path = 'user:a:coins'"))
    assert found(reader) == {
        ("balance", "user:a:coins [COIN]", 30, 33),
        ("zero_sum", "COIN", 0, 3),
    }


def test_zero_sum_is_checked_per_asset(writer: LedgerWriter, reader: Engine) -> None:
    # The grant's credit is moved onto a DIAMOND account, balances made to agree with postings:
    # the sums over all assets still cancel, but COIN is at -50 and DIAMOND at +50.
    txn = int(grant(writer, "user:a:coins", 50).body["id"])
    grant(writer, "creator:c:diamonds", 100, asset="DIAMOND")
    with reader.begin() as conn:
        diamonds = account_id(conn, "creator:c:diamonds", "DIAMOND")
        conn.execute(
            text("UPDATE postings SET credit_account_id = :d WHERE txn_id = :t"),
            {"d": diamonds, "t": txn},
        )
        conn.execute(text("UPDATE accounts SET balance = 0 WHERE path = 'user:a:coins'"))
        conn.execute(
            text("UPDATE accounts SET balance = 150 WHERE id = :d"),
            {"d": diamonds},
        )
    assert found(reader) == {
        ("posting_asset", "creator:c:diamonds [DIAMOND]", "DIAMOND", "COIN"),
        ("zero_sum", "COIN", 0, -50),
        ("zero_sum", "DIAMOND", 0, 50),
    }


def test_negative_user_balance_with_flipped_flag(writer: LedgerWriter, reader: Engine) -> None:
    # The CHECK (may_go_negative OR balance >= 0) forces the flag flip; the stored balance then
    # also disagrees with the postings (30) and leaves COIN summing to -35.
    spend(writer)
    with reader.begin() as conn:
        conn.execute(
            text(
                "UPDATE accounts SET may_go_negative = :t, balance = -5 WHERE path = 'user:a:coins'"
            ),
            {"t": True},
        )
    assert found(reader) == {
        ("balance", "user:a:coins [COIN]", 30, -5),
        ("chart", "user:a:coins [COIN]", "False", "True"),
        ("non_negative", "user:a:coins [COIN]", ">= 0", -5),
        ("zero_sum", "COIN", 0, -35),
    }


def test_negative_user_balance_consistent_with_postings(
    writer: LedgerWriter, reader: Engine
) -> None:
    # The spend is rewritten to 55 and both balances made to agree: a truly overdrawn account.
    # non_negative follows the chart, so the flipped flag does not excuse it (and is itself
    # reported).
    txn = spend(writer)
    with reader.begin() as conn:
        conn.execute(text("UPDATE postings SET amount = 55 WHERE txn_id = :t"), {"t": txn})
        conn.execute(
            text(
                "UPDATE accounts SET may_go_negative = :t, balance = -5 WHERE path = 'user:a:coins'"
            ),
            {"t": True},
        )
        conn.execute(text("UPDATE accounts SET balance = 55 WHERE path = :p"), {"p": GIFTS})
    assert found(reader) == {
        ("chart", "user:a:coins [COIN]", "False", "True"),
        ("non_negative", "user:a:coins [COIN]", ">= 0", -5),
    }


def test_negative_user_balance_past_the_check_constraint(
    writer: LedgerWriter, reader: Engine
) -> None:
    # With the CHECK constraint out of the way the flag can stay right: only non_negative.
    txn = spend(writer)
    with reader.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        else:
            conn.exec_driver_sql("ALTER TABLE accounts DROP CONSTRAINT ck_accounts_non_negative")
        conn.execute(text("UPDATE postings SET amount = 55 WHERE txn_id = :t"), {"t": txn})
        conn.execute(text("UPDATE accounts SET balance = -5 WHERE path = 'user:a:coins'"))
        conn.execute(text("UPDATE accounts SET balance = 55 WHERE path = :p"), {"p": GIFTS})
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
    assert found(reader) == {("non_negative", "user:a:coins [COIN]", ">= 0", -5)}


def test_chart_refusals(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:a:coins", 50)
    grant(writer, "user:b:coins", 5)
    with reader.begin() as conn:
        add_account(conn, "nowhere:x", "COIN", may_go_negative=False)
        add_account(conn, "user:a:coins", "USD", may_go_negative=False)
        conn.execute(
            text("UPDATE accounts SET may_go_negative = :t WHERE path = 'user:b:coins'"),
            {"t": True},
        )
    report = reconcile(reader)
    assert {(d.check, d.subject, d.expected, d.actual) for d in report.differences} == {
        ("chart", "nowhere:x [COIN]", "an account of the chart", "none"),
        ("chart", "user:a:coins [USD]", "an account of the chart", "none"),
        ("chart", "user:b:coins [COIN]", "False", "True"),
    }
    assert sorted(d.message for d in report.differences) == [
        "No account in the chart matches 'nowhere:x'.",
        "may_go_negative flag differs from the chart of accounts",
        "user:a:coins holds COIN, not USD.",
    ]


def test_posting_in_another_asset(writer: LedgerWriter, reader: Engine) -> None:
    txn = int(grant(writer, "user:a:coins", 50).body["id"])
    with reader.begin() as conn:
        conn.execute(text("UPDATE postings SET asset = 'DIAMOND' WHERE txn_id = :t"), {"t": txn})
    assert found(reader) == {
        ("posting_asset", "platform:equity:grants [COIN]", "COIN", "DIAMOND"),
        ("posting_asset", "user:a:coins [COIN]", "COIN", "DIAMOND"),
    }


def test_orphan_posting_exact_differences(writer: LedgerWriter, reader: Engine) -> None:
    txn = int(grant(writer, "user:a:coins", 5).body["id"])
    with reader.begin() as conn:
        conn.execute(
            text("UPDATE postings SET credit_account_id = 999999 WHERE txn_id = :t"), {"t": txn}
        )
    # user a's row still stores 5, but no posting credits it any more
    assert found(reader) == {
        ("posting_account", "account id 999999", "an existing account", "missing"),
        ("balance", "user:a:coins [COIN]", 0, 5),
    }


def test_transaction_without_postings(writer: LedgerWriter, reader: Engine) -> None:
    grant(writer, "user:a:coins", 5)
    with reader.begin() as conn:
        add_transaction(conn, BIG_ID + 1)
    report = reconcile(reader)
    assert report.transactions == 2 and report.postings == 1
    assert {(d.check, d.subject, d.expected, d.actual) for d in report.differences} == {
        ("postings", f"transaction {BIG_ID + 1}", ">= 1", 0)
    }


@pytest.mark.parametrize("tamper", ["pending_amount", "pending_voided", "holding_balance"])
def test_holding_tamper(writer: LedgerWriter, reader: Engine, tamper: str) -> None:
    grant(writer, "user:a:coins", 50)
    outcome = writer.execute(
        CreatePending("user:a:coins", GIFTS, "COIN", 20, expires_at=None, policy_version=POLICY)
    )
    assert outcome.status == 201, outcome.body
    pending_id = int(outcome.body["id"])
    assert balance(reader, HOLD) == 20
    assert_clean(reader)
    with reader.begin() as conn:
        hold_id = account_id(conn, HOLD)
        if tamper == "pending_amount":
            conn.execute(
                text("UPDATE pending_transfers SET amount = 15 WHERE id = :i"), {"i": pending_id}
            )
        elif tamper == "pending_voided":
            conn.execute(
                text("UPDATE pending_transfers SET state = 'voided' WHERE id = :i"),
                {"i": pending_id},
            )
        else:
            conn.execute(text("UPDATE accounts SET balance = 25 WHERE id = :i"), {"i": hold_id})
    subject = f"{HOLD} [COIN] shard 1 #{hold_id}"
    expected: dict[str, set[Found]] = {
        "pending_amount": {("holding", subject, 15, 20)},
        "pending_voided": {("holding", subject, 0, 20)},
        "holding_balance": {
            ("balance", f"{HOLD} [COIN] shard 1", 20, 25),
            ("zero_sum", "COIN", 0, 5),
            ("holding", subject, 20, 25),
        },
    }
    assert found(reader) == expected[tamper]


# --- overflow-safe sums -------------------------------------------------------------------------

NEAR = 2**62 + 12_345  # the writer bounds amounts at 10^14; these come in by SQL


def huge_lifetime_sums(engine: Engine, a_balance: int = 1000) -> dict[str, int]:
    """external:a receives 2 × NEAR and sends NEAR + (NEAR - 1000), written straight by SQL: both
    lifetime sums pass 2^63 (no 64-bit SUM can hold them) while its balance is a modest +1000.
    external:a's row stores ``a_balance``; the ids of external:a and external:b."""
    moves = [("b", "a", NEAR), ("a", "b", NEAR), ("b", "a", NEAR), ("a", "b", NEAR - 1000)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        ids = {
            "a": add_account(conn, "external:a", "COIN", may_go_negative=True, balance=a_balance),
            "b": add_account(conn, "external:b", "COIN", may_go_negative=True, balance=-1000),
        }
        for n, (source, destination, amount) in enumerate(moves, start=1):
            add_transaction(conn, BIG_ID + n)
            conn.execute(
                insert(postings).values(
                    txn_id=BIG_ID + n,
                    seq=0,
                    asset="COIN",
                    amount=amount,
                    debit_account_id=ids[source],
                    credit_account_id=ids[destination],
                    created_at=now,
                )
            )
    return ids


def test_lifetime_sums_past_2_63_reconcile_exactly(reader: Engine) -> None:
    ids = huge_lifetime_sums(reader)
    assert 2 * NEAR - 1000 > 2**63 - 1

    report = reconcile(reader)
    assert report.differences == []
    assert (report.accounts, report.transactions, report.postings) == (2, 4, 4)

    with reader.begin() as conn:
        facts = gather(conn)
    totals = {(s.account_id, s.side): (s.count, s.total) for s in facts.posting_sums}
    assert totals == {
        (ids["a"], "credit"): (2, 2 * NEAR),
        (ids["a"], "debit"): (2, 2 * NEAR - 1000),
        (ids["b"], "credit"): (2, 2 * NEAR - 1000),
        (ids["b"], "debit"): (2, 2 * NEAR),
    }

    # Why the sums are split: a plain SUM of the same amounts overflows on SQLite.
    plain = text("SELECT SUM(amount) FROM postings WHERE credit_account_id = :a")
    with reader.connect() as conn:
        if conn.dialect.name == "sqlite":
            with pytest.raises(OperationalError, match="integer overflow"):
                conn.execute(plain, {"a": ids["a"]}).scalar_one()
        else:  # PostgreSQL sums BIGINT into NUMERIC: exact, and the split agrees with it
            assert int(conn.execute(plain, {"a": ids["a"]}).scalar_one()) == 2 * NEAR


def test_overflow_safe_sums_still_see_a_one_unit_difference(reader: Engine) -> None:
    # The same lifetime sums with external:a's row off by one: the split keeps every unit.
    huge_lifetime_sums(reader, a_balance=999)
    assert found(reader) == {
        ("balance", "external:a [COIN]", 1000, 999),
        ("zero_sum", "COIN", 0, -1),
    }


# --- one snapshot under live traffic ------------------------------------------------------------


def commit_a_grant_midway(
    monkeypatch: pytest.MonkeyPatch, writer: LedgerWriter
) -> list[Select[Any]]:
    """Make the first ``_sums`` call (after the accounts query ran) commit a grant of 7."""
    original = repo._sums
    calls: list[Select[Any]] = []

    def sums_after_a_commit(side: str) -> Select[Any]:
        if not calls:
            grant(writer, "user:a:coins", 7)
        query = original(side)
        calls.append(query)
        return query

    monkeypatch.setattr(repo, "_sums", sums_after_a_commit)
    return calls


def test_reconcile_reads_one_snapshot_under_live_traffic(
    writer: LedgerWriter, reader: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant(writer, "user:a:coins", 10)
    calls = commit_a_grant_midway(monkeypatch, writer)
    report = reconcile(reader)
    assert len(calls) == 2  # the grant really was committed in the middle of gathering
    assert report.differences == []
    assert (report.accounts, report.transactions, report.postings) == (2, 1, 1)
    monkeypatch.undo()
    assert_clean(reader)
    assert balance(reader, "user:a:coins") == 17
    assert reconcile(reader).transactions == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_without_one_snapshot_postgres_sees_false_differences(
    writer: LedgerWriter, reader: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control for the test above: READ COMMITTED (PostgreSQL's default) lets the postings
    # query see the new grant while the balances were read before it. (SQLite reads inside one
    # transaction always see one snapshot, so it has no such control.)
    grant(writer, "user:a:coins", 10)
    commit_a_grant_midway(monkeypatch, writer)
    with reader.connect() as conn, conn.begin():
        facts = gather(conn)
    assert {(d.check, d.subject, d.expected, d.actual) for d in check(facts)} == {
        ("balance", "platform:equity:grants [COIN]", -17, -10),
        ("balance", "user:a:coins [COIN]", 17, 10),
    }
