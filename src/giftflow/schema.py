"""The database schema (SQLAlchemy Core). Alembic migrations are written against it.

Amounts are BIGINT in the asset's minor unit. Invariants the database can hold are CHECKs here:
posting amounts are positive, and an account whose class may not go negative never does.

Every timestamp column is ``UTCDateTime``: an aware time in any offset is stored as UTC and read
back aware in UTC, on both databases (SQLite keeps no offset; without this a ``-05:00`` expiry
would be stored as wall-clock time and fire five hours early).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time: aware in, stored as UTC, aware (UTC) out. Naive times are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware datetimes, not {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)  # SQLite: stored as UTC without an offset
        return stored.astimezone(UTC)


# BIGINT on PostgreSQL; SQLite wants INTEGER for a rowid alias primary key.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("path", String(200), nullable=False),
    Column("asset", String(8), nullable=False),
    # Hot platform accounts are split into per-writer shards; reports sum the shards.
    Column("shard", SmallInteger, nullable=False, server_default="0"),
    Column("owner_id", String(64), nullable=True),
    Column("may_go_negative", Boolean, nullable=False),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("path", "asset", "shard"),
    CheckConstraint("may_go_negative OR balance >= 0", name="non_negative"),
    Index(None, "owner_id"),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("kind", String(40), nullable=False),
    Column("reverses_id", Id, ForeignKey("transactions.id"), nullable=True, unique=True),
    Column("policy_version", String(64), nullable=True),
    Column("memo", String(500), nullable=True),
    Column("meta", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "kind", "created_at"),  # reports by kind and period
)

# One row per posting: value moves from the debit (source) account to the credit (destination)
# account in one asset, so every posting balances by construction.
postings = Table(
    "postings",
    metadata,
    Column("txn_id", Id, ForeignKey("transactions.id"), nullable=False),
    Column("seq", SmallInteger, nullable=False),
    Column("asset", String(8), nullable=False),
    Column("amount", BigInteger, nullable=False),
    # No foreign keys to accounts: each would lock the account row again per posting and
    # halved batch throughput. Only the writer inserts postings, with ids of rows it has just
    # locked; `giftflow reconcile` checks that every posting's accounts exist.
    Column("debit_account_id", Id, nullable=False),
    Column("credit_account_id", Id, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("txn_id", "seq"),
    CheckConstraint("amount > 0", name="positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
    Index(None, "debit_account_id", "txn_id"),
    Index(None, "credit_account_id", "txn_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(200), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("scope", "key"),
    Index(None, "created_at"),
)

pending_transfers = Table(
    "pending_transfers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("debit_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("credit_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("hold_account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("asset", String(8), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    # Once handed to an outside party (a payout provider) expiry must never void it.
    Column("submitted", Boolean, nullable=False, server_default="0"),
    Column("resolved_txn_id", Id, ForeignKey("transactions.id"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("amount > 0", name="positive"),
    CheckConstraint("state IN ('pending', 'posted', 'voided')", name="state"),
    Index(None, "state", "expires_at"),
)

# Blocks of ids handed to writers, so a batch can number its rows without a round trip each.
id_blocks = Table(
    "id_blocks",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("display_name", String(100), nullable=True),
    Column("region", String(8), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("age_verified", Boolean, nullable=False, server_default="0"),
    Column("follower_count", BigInteger, nullable=False, server_default="0"),
    Column("kyc_status", String(16), nullable=False, server_default="unverified"),
    # set by the platform or an admin: a frozen account can neither send nor receive gifts
    Column("frozen", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("follower_count >= 0", name="followers"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("prefix", String(24), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    # Unique over all keys, revoked ones included: a name always means one key (0003).
    Column("name", String(100), nullable=False, unique=True),
    Column("scopes", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("policy_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", UTCDateTime(), nullable=False),
    Column("document", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("policy_id", "version"),
)

# --- wallet and payments (issue 7) ----------------------------------------------------------

# A purchase of coins and, once it succeeded, the user's *lot*: its paid coins occupy
# [lot_start, lot_start + coins - coins_removed) of the user's sequence of paid coins, so the
# lot's remainder follows from wallet_state.paid_spent (FIFO) without a row per spend.
purchases = Table(
    "purchases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("region", String(8), nullable=False),
    Column("currency", String(8), nullable=False),
    Column("pack_coins", BigInteger, nullable=True),  # null: a custom amount
    Column("coins", BigInteger, nullable=False),
    Column("bonus_coins", BigInteger, nullable=False, server_default="0"),
    Column("price_minor", BigInteger, nullable=False),
    Column("store_fee_minor", BigInteger, nullable=False, server_default="0"),
    Column("policy_version", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("provider_ref", String(255), nullable=True),
    Column("failure_reason", String(200), nullable=True),
    Column("refund_reason", String(500), nullable=True),
    Column("credit_txn_id", Id, nullable=True),
    Column("lot_start", BigInteger, nullable=True),
    Column("coins_removed", BigInteger, nullable=False, server_default="0"),
    # coins restored after a won chargeback: a second segment at the end of the sequence
    Column("restored_start", BigInteger, nullable=True),
    Column("restored_coins", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("succeeded_at", UTCDateTime(), nullable=True),
    # giftflow refunded the coins; the provider has not yet confirmed paying the money back
    Column("provider_refund_due_at", UTCDateTime(), nullable=True),
    # who paid, without the card: the provider's card fingerprint, or a keyed hash (sandbox)
    Column("payment_fingerprint", String(64), nullable=True),
    UniqueConstraint("provider", "provider_ref"),
    CheckConstraint("coins > 0 AND price_minor > 0 AND bonus_coins >= 0", name="amounts"),
    CheckConstraint(
        "state IN ('pending', 'succeeded', 'failed', 'canceled', 'refunded', 'disputed', "
        "'won', 'lost')",
        name="state",
    ),
    Index(None, "user_id", "id"),
    Index(None, "state", "succeeded_at"),
    Index(None, "provider_refund_due_at"),
    Index(None, "payment_fingerprint"),
)

# Per-user counters of the wallet: paid coins ever credited (where the next lot starts), paid
# coins spent (how far FIFO consumption has gone) and a freeze after a chargeback.
wallet_state = Table(
    "wallet_state",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("paid_total", BigInteger, nullable=False, server_default="0"),
    Column("paid_spent", BigInteger, nullable=False, server_default="0"),
    Column("frozen_reason", String(64), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Coins bought or spent per user and day (in the policy's time zone), for spending caps:
# counter is 'bought', 'bought:<provider>' or 'spent'.
spend_windows = Table(
    "spend_windows",
    metadata,
    Column("user_id", String(64), nullable=False),
    Column("counter", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("coins", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "counter", "day"),
)

# Every event a payment provider delivered, once per (provider, event id): the dedup key and
# the audit trail.
payment_events = Table(
    "payment_events",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("purchase_id", Id, nullable=True),
    Column("outcome", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("provider", "event_id"),
    Index(None, "purchase_id"),
    Index(None, "received_at", "provider", "event_id"),  # the admins' list, newest first
)

disputes = Table(
    "disputes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("purchase_id", Id, nullable=False, unique=True),
    Column("user_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("coins_removed", BigInteger, nullable=False),
    Column("bonus_removed", BigInteger, nullable=False),
    Column("coins_spent", BigInteger, nullable=False),
    Column("receivable_minor", BigInteger, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("note", String(500), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    CheckConstraint("state IN ('open', 'won', 'lost', 'settled')", name="state"),
    Index(None, "state", "id"),
)

guardian_links = Table(
    "guardian_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("guardian_id", String(64), nullable=False),
    Column("ward_id", String(64), nullable=False),
    Column("purchases_enabled", Boolean, nullable=False, server_default="1"),
    Column("daily_cap_coins", BigInteger, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("guardian_id", "ward_id"),
    Index(None, "ward_id"),
)

# Non-gift catalog items bought with coins (effects, stickers), and who owns how many.
items = Table(
    "items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("price_coins", BigInteger, nullable=False),
    Column("image", String(200), nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("price_coins > 0", name="price"),
)

owned_items = Table(
    "owned_items",
    metadata,
    Column("user_id", String(64), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("first_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("user_id", "item_id"),
)


# --- LIVE: the gift catalog, rooms, viewers and combos (0006) -----------------------------------
gifts = Table(
    "gifts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("price_coins", BigInteger, nullable=False),
    Column("image", String(200), nullable=True),
    Column("tier", SmallInteger, nullable=False, server_default="1"),  # animation tier 1..5
    Column("streakable", Boolean, nullable=False, server_default="0"),
    Column("available_from", UTCDateTime(), nullable=True),  # a limited edition's window
    Column("available_until", UTCDateTime(), nullable=True),
    Column("regions", String(400), nullable=True),  # comma-separated ISO regions; null: all
    Column("sort", Integer, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("price_coins > 0", name="price"),
    CheckConstraint("tier BETWEEN 1 AND 5", name="tier"),
)

lives = Table(
    "lives",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("creator_id", String(64), nullable=False),
    Column("title", String(200), nullable=True),
    Column("state", String(16), nullable=False),
    Column("policy_version", String(64), nullable=False),  # in force when it started
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    # running totals, kept by the gift batch (one UPDATE per live per batch)
    Column("gifts_count", BigInteger, nullable=False, server_default="0"),
    Column("coins_total", BigInteger, nullable=False, server_default="0"),
    Column("diamonds_total", BigInteger, nullable=False, server_default="0"),
    Column("viewer_count", BigInteger, nullable=False, server_default="0"),
    Column("peak_viewers", BigInteger, nullable=False, server_default="0"),
    # only subscribers of the creator may join and gift (0008)
    Column("subscribers_only", Boolean, nullable=False, server_default="0"),
    # the live's last `leaderboard` snapshot event: when and at which room sequence (0010)
    Column("leaderboard_at", UTCDateTime(), nullable=True),
    Column("leaderboard_seq", Id, nullable=True),
    CheckConstraint("state IN ('active', 'ended')", name="state"),
    Index(None, "creator_id", "state"),
    Index(None, "state", "id"),
)

live_viewers = Table(
    "live_viewers",
    metadata,
    Column("live_id", Id, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("joined_at", UTCDateTime(), nullable=True),  # null: not watching now
    Column("first_joined_at", UTCDateTime(), nullable=False),
    Column("watch_seconds", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("live_id", "user_id"),
)

# An open streak of one streakable gift by one viewer in one live; closed (and deleted) by the
# writer when the window passes without another send, with a `combo` end event.
live_combos = Table(
    "live_combos",
    metadata,
    Column("live_id", Id, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("gift_id", String(64), nullable=False),
    Column("combo_id", Id, nullable=False),
    Column("combo_count", BigInteger, nullable=False),
    Column("coins", BigInteger, nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("live_id", "user_id", "gift_id"),
    Index(None, "last_at"),
)

# Diamonds earned under a hold, per creator and release date (released by the earnings job).
diamond_holds = Table(
    "diamond_holds",
    metadata,
    Column("creator_id", String(64), nullable=False),
    Column("release_on", Date, nullable=False),
    Column("hundredths", BigInteger, nullable=False),
    PrimaryKeyConstraint("creator_id", "release_on"),
    CheckConstraint("hundredths >= 0", name="hundredths"),
)

# --- realtime: the per-room outbox (0006) -------------------------------------------------------
room_sequences = Table(
    "room_sequences",
    metadata,
    Column("room_id", Id, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
)

room_events = Table(
    "room_events",
    metadata,
    Column("room_id", Id, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # the event as JSON, seq included
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("room_id", "seq"),
    Index(None, "created_at"),
)


# --- creator earnings: second factor, payout methods, withdrawals (0007) -----------------------
totp_credentials = Table(
    "totp_credentials",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("secret_encrypted", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending (enrolled) | active (confirmed)
    Column("last_step", BigInteger, nullable=True),  # the last accepted time step: no replay
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("confirmed_at", UTCDateTime(), nullable=True),
    CheckConstraint("state IN ('pending', 'active')", name="state"),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("user_id", String(64), nullable=False),
    Column("code_hash", String(200), nullable=False),  # argon2id
    Column("used_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("user_id", "code_hash"),
)

payout_methods = Table(
    "payout_methods",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # paypal | bank
    Column("details_encrypted", Text, nullable=False),
    Column("masked", String(64), nullable=False),
    Column("usable_from", UTCDateTime(), nullable=False),  # after the cooling-off period
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("removed_at", UTCDateTime(), nullable=True),
    CheckConstraint("kind IN ('paypal', 'bank')", name="kind"),
    Index(None, "user_id", "id"),
)

withdrawals = Table(
    "withdrawals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("user_id", String(64), nullable=False),
    Column("method_id", Id, nullable=False),
    Column("provider", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("diamonds", BigInteger, nullable=False),  # hundredths debited
    Column("gross_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("pending_id", Id, nullable=True),  # the pending transfer holding the diamonds
    Column("provider_ref", String(255), nullable=True),
    Column("policy_version", String(64), nullable=False),
    Column("local_day", Date, nullable=False),  # in the policy's time zone, for the limits
    Column("expected_payment_on", Date, nullable=True),
    Column("failure_reason", String(200), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("diamonds > 0 AND gross_minor > 0 AND net_minor >= 0", name="amounts"),
    Index(None, "user_id", "id"),
    Index(None, "state", "id"),
    Index(None, "user_id", "local_day"),
)

withdrawal_history = Table(
    "withdrawal_history",
    metadata,
    Column("withdrawal_id", Id, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("note", String(500), nullable=True),
    Column("txn_id", Id, nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("withdrawal_id", "seq"),
)

payout_events = Table(
    "payout_events",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("withdrawal_id", Id, nullable=True),
    Column("outcome", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("provider", "event_id"),
)


# --- LIVE engagement (0008): goals, leaderboards, battles, co-hosts, subscriptions, analytics ---
live_goals = Table(
    "live_goals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("live_id", Id, nullable=False),
    Column("kind", String(8), nullable=False),  # coins | gift
    Column("gift_id", String(64), nullable=True),
    Column("target", BigInteger, nullable=False),
    Column("title", String(200), nullable=False),
    Column("progress", BigInteger, nullable=False, server_default="0"),
    Column("completed_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("kind IN ('coins', 'gift')", name="kind"),
    CheckConstraint("target > 0 AND progress >= 0", name="amounts"),
    Index(None, "live_id", "id"),
)

# scores: coins gifted; ties go to who reached the score first (reached_at, then the room
# event's seq, or the gift's transaction id where there is no room)
live_supporters = Table(
    "live_supporters",
    metadata,
    Column("live_id", Id, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("coins", BigInteger, nullable=False),
    Column("gifts", BigInteger, nullable=False),
    Column("reached_at", UTCDateTime(), nullable=False),
    Column("reached_seq", Id, nullable=False),
    PrimaryKeyConstraint("live_id", "user_id"),
)

# a creator's supporters and the global creators: one row per local day and one all-time row;
# week and month boards are sums over day rows (0010)
supporter_scores = Table(
    "supporter_scores",
    metadata,
    Column("creator_id", String(64), nullable=False),
    Column("period", String(8), nullable=False),  # day | all
    Column("period_start", Date, nullable=False),  # policy time zone; 1970-01-01 for all
    Column("user_id", String(64), nullable=False),
    Column("coins", BigInteger, nullable=False),
    Column("reached_at", UTCDateTime(), nullable=False),
    Column("reached_seq", Id, nullable=False),
    PrimaryKeyConstraint("creator_id", "period", "period_start", "user_id"),
)

creator_scores = Table(
    "creator_scores",
    metadata,
    Column("period", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("creator_id", String(64), nullable=False),
    Column("coins", BigInteger, nullable=False),
    Column("reached_at", UTCDateTime(), nullable=False),
    Column("reached_seq", Id, nullable=False),
    PrimaryKeyConstraint("period", "period_start", "creator_id"),
)
# how far the all-time score rows go (0010): the `all` rows of supporter_scores and
# creator_scores hold the day rows of the days before `through`, added by a rollup off the gift
# path; an all-time board adds the day rows from `through` on
leaderboard_rollups = Table(
    "leaderboard_rollups",
    metadata,
    Column("name", String(16), primary_key=True),  # "scores"
    Column("through", Date, nullable=False),
    Column("rolled_at", UTCDateTime(), nullable=False),
)

# the global board's order (0010): its top N is the index's first N entries
Index(
    "ix_creator_scores_board",
    creator_scores.c.period,
    creator_scores.c.period_start,
    creator_scores.c.coins.desc(),
    creator_scores.c.reached_at,
    creator_scores.c.reached_seq,
)

battles = Table(
    "battles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("state", String(16), nullable=False),  # invited | active | ended | canceled
    Column("mode", String(16), nullable=False),  # all | gifts
    Column("gift_ids", Text, nullable=True),  # JSON list, mode "gifts"
    Column("multiplier", Integer, nullable=False, server_default="1"),
    Column("multiplier_seconds", Integer, nullable=False, server_default="0"),
    Column("duration_seconds", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("ends_at", UTCDateTime(), nullable=True),  # the stored deadline: survives restarts
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("result", Text, nullable=True),  # JSON
    Column("last_score", Text, nullable=True),  # JSON: the last battle_score event (0010)
    Index(None, "state", "ends_at"),
)

battle_sides = Table(
    "battle_sides",
    metadata,
    Column("battle_id", Id, nullable=False),
    Column("live_id", Id, nullable=False),
    Column("creator_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # host | invited | accepted | declined
    Column("score", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("battle_id", "live_id"),
    Index(None, "live_id"),
)

battle_supporters = Table(
    "battle_supporters",
    metadata,
    Column("battle_id", Id, nullable=False),
    Column("live_id", Id, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("score", BigInteger, nullable=False),
    Column("reached_seq", Id, nullable=False),
    PrimaryKeyConstraint("battle_id", "live_id", "user_id"),
)

live_cohosts = Table(
    "live_cohosts",
    metadata,
    Column("live_id", Id, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
    Column("removed_at", UTCDateTime(), nullable=True),
    PrimaryKeyConstraint("live_id", "user_id"),
)

subscription_plans = Table(
    "subscription_plans",
    metadata,
    Column("creator_id", String(64), primary_key=True),
    Column("price_coins", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("price_coins > 0", name="price"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("subscriber_id", String(64), nullable=False),
    Column("creator_id", String(64), nullable=False),
    Column("price_coins", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # active | canceled | expired
    Column("period_start", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime(), nullable=False),
    Column("renewals", Integer, nullable=False, server_default="0"),
    Column("canceled_at", UTCDateTime(), nullable=True),
    Column("policy_version", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("state IN ('active', 'canceled', 'expired')", name="state"),
    UniqueConstraint("subscriber_id", "creator_id"),
    Index(None, "state", "period_end"),
    Index(None, "creator_id"),
)

# analytics, maintained by the gift batch (0010): per live, recipient, UTC minute and gift, the
# gifts (count), coins and diamonds — a live's figures sum its rows, a creator's the rows they
# received (any live); and the distinct gifters of a creator per UTC hour (a live's are its
# live_supporters)
analytics_gift_minutes = Table(
    "analytics_gift_minutes",
    metadata,
    Column("live_id", Id, nullable=False),
    Column("minute", UTCDateTime(), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("gift_id", String(64), nullable=False),
    Column("gifts", BigInteger, nullable=False),
    Column("coins", BigInteger, nullable=False),
    Column("diamonds", BigInteger, nullable=False),
    PrimaryKeyConstraint("live_id", "minute", "recipient_id", "gift_id"),
    Index(None, "recipient_id", "minute"),
)

analytics_gifters = Table(
    "analytics_gifters",
    metadata,
    Column("scope", String(8), nullable=False),  # "creator"
    Column("scope_id", String(64), nullable=False),
    Column("hour", UTCDateTime(), nullable=False),
    Column("user_id", String(64), nullable=False),
    PrimaryKeyConstraint("scope", "scope_id", "hour", "user_id"),
)

follower_series = Table(
    "follower_series",
    metadata,
    Column("user_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("follower_count", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "at"),
)

# --- operators and the console (issue 11) ---------------------------------------------------

# Every admin action: who, what, when, and the resource before and after. Append-only: triggers
# (migration 0009) refuse UPDATE and DELETE on both databases.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),  # "apikey:3 ops-key", "session:admin:3"
    Column("action", String(100), nullable=False),  # "withdrawal.approve", "user.update"
    Column("target", String(200), nullable=True),  # "withdrawal:12", "user:alice"
    Column("method", String(8), nullable=False),
    Column("path", String(500), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("request", Text, nullable=True),  # JSON body, secrets removed
    Column("before", Text, nullable=True),  # JSON
    Column("after", Text, nullable=True),  # JSON
    Index(None, "at"),
    Index(None, "target", "id"),
)

# A signal for an operator to look at; never acts on money by itself.
fraud_flags = Table(
    "fraud_flags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(200), nullable=False),  # the user or users involved
    Column("dedupe_key", String(200), nullable=False, unique=True),  # one flag per signal
    Column("details", Text, nullable=False),  # JSON: the evidence, with transaction ids
    Column("state", String(16), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Column("resolution", String(16), nullable=True),  # confirmed | dismissed
    Column("note", String(1000), nullable=True),
    CheckConstraint("state IN ('open', 'resolved')", name="state"),
    Index(None, "state", "id"),
)

# Where a background job stands (the fraud scan's last transaction, the daily reconcile's day).
job_state = Table(
    "job_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

reconcile_runs = Table(
    "reconcile_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("requested_by", String(200), nullable=False),  # an actor, or "schedule"
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("state", String(16), nullable=False),
    Column("differences", Integer, nullable=True),
    Column("report", Text, nullable=True),  # JSON: accounts checked, each difference
    Column("error", String(500), nullable=True),
    CheckConstraint(
        "state IN ('queued', 'running', 'clean', 'differences', 'failed')", name="state"
    ),
)

# A signed-in browser: the cookie holds a random token, the table its SHA-256 digest.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # user | admin
    Column("user_id", String(64), nullable=True),
    Column("api_key_id", Id, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    CheckConstraint(
        "(kind = 'user' AND user_id IS NOT NULL) OR (kind = 'admin' AND api_key_id IS NOT NULL)",
        name="subject",
    ),
)
