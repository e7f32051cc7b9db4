"""LIVE gifting and realtime: the gift catalog (with the six seed gifts), live rooms, viewers,
open combos, earnings-hold buckets, the per-room event outbox, and a frozen flag on users.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The seed gifts (SPEC §6, §10 example 6); "TikTok Universe" ships as "Universe".
SEED_GIFTS = [
    # id, name, coins, tier, streakable, sort
    ("rose", "Rose", 1, 1, True, 10),
    ("panda", "Panda", 5, 1, True, 20),
    ("fireworks", "Fireworks", 999, 3, False, 30),
    ("ferris-wheel", "Ferris Wheel", 3000, 4, False, 40),
    ("drama-queen", "Drama Queen", 5000, 4, False, 50),
    ("universe", "Universe", 34999, 5, False, 60),
]


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("frozen", sa.Boolean(), nullable=False, server_default="0"))

    gifts = op.create_table(
        "gifts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("price_coins", sa.BigInteger(), nullable=False),
        sa.Column("image", sa.String(200), nullable=True),
        sa.Column("tier", sa.SmallInteger(), nullable=False, server_default="1"),
        sa.Column("streakable", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("available_from", TS, nullable=True),
        sa.Column("available_until", TS, nullable=True),
        sa.Column("regions", sa.String(400), nullable=True),
        sa.Column("sort", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("price_coins > 0", name=op.f("ck_gifts_price")),
        sa.CheckConstraint("tier BETWEEN 1 AND 5", name=op.f("ck_gifts_tier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gifts")),
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    op.bulk_insert(
        gifts,
        [
            {
                "id": gid,
                "name": name,
                "price_coins": coins,
                "image": f"/static/gifts/{gid}.svg",
                "tier": tier,
                "streakable": streakable,
                "sort": sort,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for gid, name, coins, tier, streakable, sort in SEED_GIFTS
        ],
    )

    op.create_table(
        "lives",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("gifts_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("coins_total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("diamonds_total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("viewer_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("peak_viewers", sa.BigInteger(), nullable=False, server_default="0"),
        sa.CheckConstraint("state IN ('active', 'ended')", name=op.f("ck_lives_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lives")),
    )
    op.create_index(op.f("ix_lives_creator_id_state"), "lives", ["creator_id", "state"])
    op.create_index(op.f("ix_lives_state_id"), "lives", ["state", "id"])

    op.create_table(
        "live_viewers",
        sa.Column("live_id", ID, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("joined_at", TS, nullable=True),
        sa.Column("first_joined_at", TS, nullable=False),
        sa.Column("watch_seconds", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("live_id", "user_id", name=op.f("pk_live_viewers")),
    )

    op.create_table(
        "live_combos",
        sa.Column("live_id", ID, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("gift_id", sa.String(64), nullable=False),
        sa.Column("combo_id", ID, nullable=False),
        sa.Column("combo_count", sa.BigInteger(), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("live_id", "user_id", "gift_id", name=op.f("pk_live_combos")),
    )
    op.create_index(op.f("ix_live_combos_last_at"), "live_combos", ["last_at"])

    op.create_table(
        "diamond_holds",
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("release_on", sa.Date(), nullable=False),
        sa.Column("hundredths", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("hundredths >= 0", name=op.f("ck_diamond_holds_hundredths")),
        sa.PrimaryKeyConstraint("creator_id", "release_on", name=op.f("pk_diamond_holds")),
    )

    op.create_table(
        "room_sequences",
        sa.Column("room_id", ID, nullable=False, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_room_sequences")),
    )
    op.create_table(
        "room_events",
        sa.Column("room_id", ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "seq", name=op.f("pk_room_events")),
    )
    op.create_index(op.f("ix_room_events_created_at"), "room_events", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_room_events_created_at"), table_name="room_events")
    op.drop_table("room_events")
    op.drop_table("room_sequences")
    op.drop_table("diamond_holds")
    op.drop_index(op.f("ix_live_combos_last_at"), table_name="live_combos")
    op.drop_table("live_combos")
    op.drop_table("live_viewers")
    op.drop_index(op.f("ix_lives_state_id"), table_name="lives")
    op.drop_index(op.f("ix_lives_creator_id_state"), table_name="lives")
    op.drop_table("lives")
    op.drop_table("gifts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("frozen")
