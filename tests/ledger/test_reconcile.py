"""Reconcile reports every difference at once, and the CLI exits non-zero on any."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from giftflow.cli import app
from giftflow.ledger.reconcile import reconcile
from giftflow.ledger.writer import LedgerWriter
from giftflow.settings import get_settings

from .support import grant, transfer


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
    with reader.connect() as conn:
        report = reconcile(conn)
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
    with reader.connect() as conn:
        checks = {d.check for d in reconcile(conn).differences}
    assert "posting_account" in checks
