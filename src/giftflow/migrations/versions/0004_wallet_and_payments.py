"""Wallet and payments: purchases (and their lots), wallet counters, spending windows,
provider events, disputes, guardian links, in-app items and owned items.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transactions_kind_created_at"), ["kind", "created_at"], unique=False
        )
    op.create_table(
        "disputes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("coins_removed", sa.BigInteger(), nullable=False),
        sa.Column("bonus_removed", sa.BigInteger(), nullable=False),
        sa.Column("coins_spent", sa.BigInteger(), nullable=False),
        sa.Column("receivable_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'won', 'lost', 'settled')", name=op.f("ck_disputes_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("purchase_id", name=op.f("uq_disputes_purchase_id")),
    )
    op.create_index(op.f("ix_disputes_state_id"), "disputes", ["state", "id"], unique=False)
    op.create_table(
        "guardian_links",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("guardian_id", sa.String(length=64), nullable=False),
        sa.Column("ward_id", sa.String(length=64), nullable=False),
        sa.Column("purchases_enabled", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("daily_cap_coins", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardian_links")),
        sa.UniqueConstraint(
            "guardian_id", "ward_id", name=op.f("uq_guardian_links_guardian_id_ward_id")
        ),
    )
    op.create_index(op.f("ix_guardian_links_ward_id"), "guardian_links", ["ward_id"], unique=False)
    op.create_table(
        "items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("price_coins", sa.BigInteger(), nullable=False),
        sa.Column("image", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_coins > 0", name=op.f("ck_items_price")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
    )
    op.create_table(
        "owned_items",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "item_id", name=op.f("pk_owned_items")),
    )
    op.create_table(
        "payment_events",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column(
            "purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_payment_events")),
    )
    op.create_index(
        op.f("ix_payment_events_purchase_id"), "payment_events", ["purchase_id"], unique=False
    )
    op.create_table(
        "purchases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("pack_coins", sa.BigInteger(), nullable=True),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("bonus_coins", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("store_fee_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("refund_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "credit_txn_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("lot_start", sa.BigInteger(), nullable=True),
        sa.Column("coins_removed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("restored_start", sa.BigInteger(), nullable=True),
        sa.Column("restored_coins", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'succeeded', 'failed', 'canceled', 'refunded', 'disputed', "
            "'won', 'lost')",
            name=op.f("ck_purchases_state"),
        ),
        sa.CheckConstraint(
            "coins > 0 AND price_minor > 0 AND bonus_coins >= 0", name=op.f("ck_purchases_amounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint(
            "provider", "provider_ref", name=op.f("uq_purchases_provider_provider_ref")
        ),
    )
    op.create_index(
        op.f("ix_purchases_state_succeeded_at"),
        "purchases",
        ["state", "succeeded_at"],
        unique=False,
    )
    op.create_index(op.f("ix_purchases_user_id_id"), "purchases", ["user_id", "id"], unique=False)
    op.create_table(
        "spend_windows",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("counter", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "counter", "day", name=op.f("pk_spend_windows")),
    )
    op.create_table(
        "wallet_state",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("paid_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("paid_spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("frozen_reason", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_wallet_state")),
    )


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transactions_kind_created_at"))
    op.drop_table("wallet_state")
    op.drop_table("spend_windows")
    op.drop_index(op.f("ix_purchases_user_id_id"), table_name="purchases")
    op.drop_index(op.f("ix_purchases_state_succeeded_at"), table_name="purchases")
    op.drop_table("purchases")
    op.drop_index(op.f("ix_payment_events_purchase_id"), table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_table("owned_items")
    op.drop_table("items")
    op.drop_index(op.f("ix_guardian_links_ward_id"), table_name="guardian_links")
    op.drop_table("guardian_links")
    op.drop_index(op.f("ix_disputes_state_id"), table_name="disputes")
    op.drop_table("disputes")
