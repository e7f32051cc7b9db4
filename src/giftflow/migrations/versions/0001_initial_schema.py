"""Initial schema: accounts, transactions, postings, idempotency keys, pending transfers,
users, API keys and policy versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 02:21:18.344338
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("shard", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("may_go_negative", sa.Boolean(), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "may_go_negative OR balance >= 0", name=op.f("ck_accounts_non_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("path", "asset", "shard", name=op.f("uq_accounts_path_asset_shard")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_keys_digest")),
    )
    op.create_table(
        "id_blocks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_id_blocks")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version", name=op.f("pk_policy_versions")),
    )
    op.create_table(
        "transactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "reverses_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("policy_version", sa.String(length=64), nullable=True),
        sa.Column("memo", sa.String(length=500), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["transactions.id"],
            name=op.f("fk_transactions_reverses_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_transactions_reverses_id")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("age_verified", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("follower_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("kyc_status", sa.String(length=16), server_default="none", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("follower_count >= 0", name=op.f("ck_users_followers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "pending_transfers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "debit_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "credit_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "hold_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column(
            "resolved_txn_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'posted', 'voided')", name=op.f("ck_pending_transfers_state")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_pending_transfers_positive")),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["accounts.id"],
            name=op.f("fk_pending_transfers_credit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["accounts.id"],
            name=op.f("fk_pending_transfers_debit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_account_id"],
            ["accounts.id"],
            name=op.f("fk_pending_transfers_hold_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_txn_id"],
            ["transactions.id"],
            name=op.f("fk_pending_transfers_resolved_txn_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_transfers")),
    )
    with op.batch_alter_table("pending_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_transfers_state_expires_at"),
            ["state", "expires_at"],
            unique=False,
        )

    op.create_table(
        "postings",
        sa.Column("txn_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("asset", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "debit_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "credit_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_postings_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name=op.f("ck_postings_distinct_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["accounts.id"],
            name=op.f("fk_postings_credit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["accounts.id"],
            name=op.f("fk_postings_debit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["txn_id"], ["transactions.id"], name=op.f("fk_postings_txn_id_transactions")
        ),
        sa.PrimaryKeyConstraint("txn_id", "seq", name=op.f("pk_postings")),
    )
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_postings_credit_account_id_txn_id"),
            ["credit_account_id", "txn_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_postings_debit_account_id_txn_id"),
            ["debit_account_id", "txn_id"],
            unique=False,
        )
    op.execute("INSERT INTO id_blocks (name, next_value) VALUES ('ledger', 1)")


def downgrade() -> None:

    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postings_debit_account_id_txn_id"))
        batch_op.drop_index(batch_op.f("ix_postings_credit_account_id_txn_id"))

    op.drop_table("postings")
    with op.batch_alter_table("pending_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_transfers_state_expires_at"))

    op.drop_table("pending_transfers")
    op.drop_table("users")
    op.drop_table("transactions")
    op.drop_table("policy_versions")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("id_blocks")
    op.drop_table("api_keys")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_owner_id"))

    op.drop_table("accounts")
