"""LIVE engagement, lighter on the gift path: fewer rows per gift and proper homes for marks.

- ``supporter_scores`` and ``creator_scores`` keep only ``day`` and ``all`` rows: week and month
  boards are summed from day rows when read, so the stored week and month rows go;
- ``creator_scores`` gets the global board's index (period, period_start, coins DESC,
  reached_at, reached_seq);
- a live's last ``leaderboard`` snapshot moves from the ``live_supporters`` row of the empty
  user id to ``lives.leaderboard_at`` / ``lives.leaderboard_seq``;
- an active battle's last ``battle_score`` snapshot moves from ``battles.result`` to
  ``battles.last_score`` (``result`` is the outcome only);
- ``analytics_gifters`` keeps only the creator scope: a live's unique gifters are its
  ``live_supporters`` rows;
- ``analytics_minutes`` (per scope and minute) and ``analytics_gifts`` (per scope, local day and
  gift) become one ``analytics_gift_minutes`` (per live, minute, recipient and gift): one row per
  gift where there were four. It is rebuilt from the ledger's gift transactions, which the old
  tables equalled (their postings give the coins and diamonds, their ``meta`` the live, gift,
  count and co-host recipient, their ``created_at`` the minute).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MARK = ""  # the user id of a live's snapshot row before 0010
ROLLUP = "scores"


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now


def upgrade() -> None:
    with op.batch_alter_table("lives") as batch:
        batch.add_column(sa.Column("leaderboard_at", TS, nullable=True))
        batch.add_column(sa.Column("leaderboard_seq", ID, nullable=True))
    op.execute(
        "UPDATE lives SET "
        "leaderboard_at = (SELECT s.reached_at FROM live_supporters s "
        f"WHERE s.live_id = lives.id AND s.user_id = '{MARK}'), "
        "leaderboard_seq = (SELECT s.reached_seq FROM live_supporters s "
        f"WHERE s.live_id = lives.id AND s.user_id = '{MARK}')"
    )
    op.execute(f"DELETE FROM live_supporters WHERE user_id = '{MARK}'")

    with op.batch_alter_table("battles") as batch:
        batch.add_column(sa.Column("last_score", sa.Text(), nullable=True))
    op.execute(
        "UPDATE battles SET last_score = result, result = NULL "
        "WHERE state = 'active' AND result IS NOT NULL"
    )

    # week and month rows go; all-time rows are rolled up again from day rows (the first
    # rollup of the engagement loop), and until then all-time boards sum the day rows
    op.execute("DELETE FROM supporter_scores WHERE period IN ('week', 'month', 'all')")
    op.execute("DELETE FROM creator_scores WHERE period IN ('week', 'month', 'all')")
    op.create_table(
        "leaderboard_rollups",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("rolled_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leaderboard_rollups")),
    )
    op.get_bind().execute(
        sa.text(
            "INSERT INTO leaderboard_rollups (name, through, rolled_at) VALUES (:n, :t, :at)"
        ).bindparams(sa.bindparam("t", type_=sa.Date()), sa.bindparam("at", type_=TS)),
        {"n": ROLLUP, "t": date(1970, 1, 1), "at": _now()},
    )
    op.create_index(
        "ix_creator_scores_board",
        "creator_scores",
        ["period", "period_start", sa.text("coins DESC"), "reached_at", "reached_seq"],
    )
    op.execute("DELETE FROM analytics_gifters WHERE scope = 'live'")

    op.create_table(
        "analytics_gift_minutes",
        sa.Column("live_id", ID, nullable=False),
        sa.Column("minute", TS, nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("gift_id", sa.String(64), nullable=False),
        sa.Column("gifts", sa.BigInteger(), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "live_id", "minute", "recipient_id", "gift_id", name=op.f("pk_analytics_gift_minutes")
        ),
    )
    op.create_index(
        op.f("ix_analytics_gift_minutes_recipient_id_minute"),
        "analytics_gift_minutes",
        ["recipient_id", "minute"],
    )
    _gift_minutes_from_the_ledger()
    op.drop_table("analytics_minutes")
    op.drop_table("analytics_gifts")


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    at: datetime = value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _gift_minutes_from_the_ledger() -> None:
    """Every committed gift, summed per (live, minute, recipient, gift), as the gift batch
    writes them: coins credited to ``platform:revenue:gifts``, diamonds credited to the
    recipient's diamond accounts, count and gift from the transaction's ``meta``."""
    bind = op.get_bind()
    hosts = {int(i): str(c) for i, c in bind.execute(sa.text("SELECT id, creator_id FROM lives"))}
    rows = bind.execute(
        sa.text(
            "SELECT t.id, t.created_at, t.meta, p.asset, p.amount, c.path "
            "FROM transactions t JOIN postings p ON p.txn_id = t.id "
            "JOIN accounts c ON c.id = p.credit_account_id "
            "WHERE t.kind = 'gift' ORDER BY t.id"
        ).columns(sa.column("id"), sa.column("created_at", TS))
    )
    gifts: dict[int, dict[str, Any]] = {}
    for txn_id, at, meta, asset, amount, path in rows:
        g = gifts.get(txn_id)
        if g is None:
            g = gifts[txn_id] = {
                "at": at,
                "meta": json.loads(meta or "{}"),
                "coins": 0,
                "diamonds": 0,
                "to": None,
            }
        if asset == "COIN" and path == "platform:revenue:gifts":
            g["coins"] += int(amount)
        elif asset == "DIAMOND" and path.startswith("creator:"):
            g["diamonds"] += int(amount)
            g["to"] = path.split(":")[1]
    sums: dict[tuple[int, datetime, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for g in gifts.values():
        meta = g["meta"]
        if "live" not in meta or "gift" not in meta:
            continue
        live = int(meta["live"])
        recipient = meta.get("recipient") or g["to"] or hosts.get(live)
        if recipient is None:
            continue
        minute = _utc(g["at"]).replace(second=0, microsecond=0)
        s = sums[(live, minute, str(recipient), str(meta["gift"]))]
        s[0] += int(meta.get("count", 1))
        s[1] += g["coins"]
        s[2] += g["diamonds"]
    if not sums:
        return
    table = sa.table(
        "analytics_gift_minutes",
        sa.column("live_id"),
        sa.column("minute", TS),
        sa.column("recipient_id"),
        sa.column("gift_id"),
        sa.column("gifts"),
        sa.column("coins"),
        sa.column("diamonds"),
    )
    values = [
        {
            "live_id": k[0],
            "minute": k[1] if bind.dialect.name != "sqlite" else k[1].replace(tzinfo=None),
            "recipient_id": k[2],
            "gift_id": k[3],
            "gifts": v[0],
            "coins": v[1],
            "diamonds": v[2],
        }
        for k, v in sorted(sums.items())
    ]
    for start in range(0, len(values), 1000):
        bind.execute(table.insert(), values[start : start + 1000])


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _rebuild_periods(table: str, keys: tuple[str, ...]) -> None:
    """Week, month and all-time rows again, summed from day rows (the later (reached_at,
    reached_seq))."""
    bind = op.get_bind()
    cols = ", ".join(keys)
    rows = bind.execute(
        sa.text(
            f"SELECT {cols}, period_start, coins, reached_at, reached_seq FROM {table} "
            "WHERE period = 'day'"
        )
    ).all()
    sums: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, None, 0])
    for row in rows:
        who = tuple(row[: len(keys)])
        day, coins, at, seq = row[len(keys) :]
        if isinstance(day, str):
            day = date.fromisoformat(day[:10])
        starts = (("week", _week(day)), ("month", day.replace(day=1)), ("all", date(1970, 1, 1)))
        for period, start in starts:
            s = sums[(period, start, *who)]
            s[0] += coins
            if s[1] is None or (at, seq) > (s[1], s[2]):
                s[1], s[2] = at, seq
    if not sums:
        return
    insert = sa.text(
        f"INSERT INTO {table} (period, period_start, {cols}, coins, reached_at, reached_seq) "
        f"VALUES (:period, :start, {', '.join(':' + k for k in keys)}, :coins, :at, :seq)"
    )
    bind.execute(
        insert,
        [
            {
                "period": k[0],
                "start": k[1],
                **dict(zip(keys, k[2:], strict=True)),
                "coins": v[0],
                "at": v[1],
                "seq": v[2],
            }
            for k, v in sums.items()
        ],
    )


def _old_analytics() -> None:
    """analytics_minutes and analytics_gifts again, summed from analytics_gift_minutes (the day
    of a gift row is its UTC day: the policy's zone at the time is not known here)."""
    op.create_table(
        "analytics_minutes",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_id", sa.String(64), nullable=False),
        sa.Column("minute", TS, nullable=False),
        sa.Column("gifts", sa.BigInteger(), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", "minute", name=op.f("pk_analytics_minutes")),
    )
    op.create_table(
        "analytics_gifts",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("gift_id", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "scope_id", "day", "gift_id", name=op.f("pk_analytics_gifts")
        ),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT live_id, minute, recipient_id, gift_id, gifts, coins, diamonds "
            "FROM analytics_gift_minutes"
        ).columns(sa.column("live_id"), sa.column("minute", TS))
    ).all()
    minutes: dict[tuple[str, str, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    days: dict[tuple[str, str, date, str], list[int]] = defaultdict(lambda: [0, 0])
    for live, minute, recipient, gift, n, coins, diamonds in rows:
        at = _utc(minute)
        for scope, sid in (("live", str(live)), ("creator", recipient)):
            m = minutes[(scope, sid, at)]
            m[0] += n
            m[1] += coins
            m[2] += diamonds
            d = days[(scope, sid, at.date(), gift)]
            d[0] += n
            d[1] += coins
    naive = bind.dialect.name == "sqlite"
    if minutes:
        bind.execute(
            sa.text(
                "INSERT INTO analytics_minutes (scope, scope_id, minute, gifts, coins, diamonds) "
                "VALUES (:s, :i, :m, :g, :c, :d)"
            ).bindparams(sa.bindparam("m", type_=TS)),
            [
                {
                    "s": k[0],
                    "i": k[1],
                    "m": k[2].replace(tzinfo=None) if naive else k[2],
                    "g": v[0],
                    "c": v[1],
                    "d": v[2],
                }
                for k, v in minutes.items()
            ],
        )
    if days:
        bind.execute(
            sa.text(
                "INSERT INTO analytics_gifts (scope, scope_id, day, gift_id, count, coins) "
                "VALUES (:s, :i, :d, :g, :n, :c)"
            ),
            [
                {"s": k[0], "i": k[1], "d": k[2], "g": k[3], "n": v[0], "c": v[1]}
                for k, v in days.items()
            ],
        )
    op.drop_index(
        op.f("ix_analytics_gift_minutes_recipient_id_minute"), table_name="analytics_gift_minutes"
    )
    op.drop_table("analytics_gift_minutes")


def downgrade() -> None:
    _old_analytics()
    # a live's unique gifters were counted over every hour: any hour of each gifter will do
    op.execute(
        "INSERT INTO analytics_gifters (scope, scope_id, hour, user_id) "
        "SELECT 'live', CAST(live_id AS VARCHAR(64)), reached_at, user_id FROM live_supporters"
    )
    op.drop_index("ix_creator_scores_board", table_name="creator_scores")
    op.execute("DELETE FROM supporter_scores WHERE period = 'all'")
    op.execute("DELETE FROM creator_scores WHERE period = 'all'")
    op.drop_table("leaderboard_rollups")
    _rebuild_periods("supporter_scores", ("creator_id", "user_id"))
    _rebuild_periods("creator_scores", ("creator_id",))

    op.execute(
        "UPDATE battles SET result = last_score WHERE state = 'active' AND last_score IS NOT NULL"
    )
    with op.batch_alter_table("battles") as batch:
        batch.drop_column("last_score")

    op.execute(
        "INSERT INTO live_supporters (live_id, user_id, coins, gifts, reached_at, reached_seq) "
        f"SELECT id, '{MARK}', 0, 0, leaderboard_at, leaderboard_seq FROM lives "
        "WHERE leaderboard_seq IS NOT NULL"
    )
    with op.batch_alter_table("lives") as batch:
        batch.drop_column("leaderboard_seq")
        batch.drop_column("leaderboard_at")
