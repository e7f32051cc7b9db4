"""LIVE engagement: goals, supporter and creator leaderboards, battles, co-hosts, subscriptions
and subscriber-only lives, analytics buckets and the follower series.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("lives") as batch:
        batch.add_column(
            sa.Column("subscribers_only", sa.Boolean(), nullable=False, server_default="0")
        )
    op.create_table(
        "live_goals",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("live_id", ID, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("gift_id", sa.String(64), nullable=True),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('coins', 'gift')", name=op.f("ck_live_goals_kind")),
        sa.CheckConstraint("target > 0 AND progress >= 0", name=op.f("ck_live_goals_amounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_goals")),
    )
    op.create_index(op.f("ix_live_goals_live_id_id"), "live_goals", ["live_id", "id"])
    op.create_table(
        "live_supporters",
        sa.Column("live_id", ID, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("gifts", sa.BigInteger(), nullable=False),
        sa.Column("reached_at", TS, nullable=False),
        sa.Column("reached_seq", ID, nullable=False),
        sa.PrimaryKeyConstraint("live_id", "user_id", name=op.f("pk_live_supporters")),
    )
    op.create_table(
        "supporter_scores",
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("reached_at", TS, nullable=False),
        sa.Column("reached_seq", ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "creator_id", "period", "period_start", "user_id", name=op.f("pk_supporter_scores")
        ),
    )
    op.create_table(
        "creator_scores",
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("reached_at", TS, nullable=False),
        sa.Column("reached_seq", ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "period", "period_start", "creator_id", name=op.f("pk_creator_scores")
        ),
    )
    op.create_table(
        "battles",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("gift_ids", sa.Text(), nullable=True),
        sa.Column("multiplier", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("multiplier_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_battles")),
    )
    op.create_index(op.f("ix_battles_state_ends_at"), "battles", ["state", "ends_at"])
    op.create_table(
        "battle_sides",
        sa.Column("battle_id", ID, nullable=False),
        sa.Column("live_id", ID, nullable=False),
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("battle_id", "live_id", name=op.f("pk_battle_sides")),
    )
    op.create_index(op.f("ix_battle_sides_live_id"), "battle_sides", ["live_id"])
    op.create_table(
        "battle_supporters",
        sa.Column("battle_id", ID, nullable=False),
        sa.Column("live_id", ID, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("reached_seq", ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "battle_id", "live_id", "user_id", name=op.f("pk_battle_supporters")
        ),
    )
    op.create_table(
        "live_cohosts",
        sa.Column("live_id", ID, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("removed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("live_id", "user_id", name=op.f("pk_live_cohosts")),
    )
    op.create_table(
        "subscription_plans",
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("price_coins", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("price_coins > 0", name=op.f("ck_subscription_plans_price")),
        sa.PrimaryKeyConstraint("creator_id", name=op.f("pk_subscription_plans")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", ID, nullable=False, autoincrement=False),
        sa.Column("subscriber_id", sa.String(64), nullable=False),
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("price_coins", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("canceled_at", TS, nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('active', 'canceled', 'expired')", name=op.f("ck_subscriptions_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "subscriber_id", "creator_id", name=op.f("uq_subscriptions_subscriber_id_creator_id")
        ),
    )
    op.create_index(
        op.f("ix_subscriptions_state_period_end"), "subscriptions", ["state", "period_end"]
    )
    op.create_index(op.f("ix_subscriptions_creator_id"), "subscriptions", ["creator_id"])
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
        "analytics_gifters",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_id", sa.String(64), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "scope_id", "hour", "user_id", name=op.f("pk_analytics_gifters")
        ),
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
    op.create_table(
        "follower_series",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("follower_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "at", name=op.f("pk_follower_series")),
    )


def downgrade() -> None:
    op.drop_table("follower_series")
    op.drop_table("analytics_gifts")
    op.drop_table("analytics_gifters")
    op.drop_table("analytics_minutes")
    op.drop_index(op.f("ix_subscriptions_creator_id"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_state_period_end"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("subscription_plans")
    op.drop_table("live_cohosts")
    op.drop_table("battle_supporters")
    op.drop_index(op.f("ix_battle_sides_live_id"), table_name="battle_sides")
    op.drop_table("battle_sides")
    op.drop_index(op.f("ix_battles_state_ends_at"), table_name="battles")
    op.drop_table("battles")
    op.drop_table("creator_scores")
    op.drop_table("supporter_scores")
    op.drop_table("live_supporters")
    op.drop_index(op.f("ix_live_goals_live_id_id"), table_name="live_goals")
    op.drop_table("live_goals")
    with op.batch_alter_table("lives") as batch:
        batch.drop_column("subscribers_only")
