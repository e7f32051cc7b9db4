"""Creator earnings: KYC "none" renamed "unverified", second-factor credentials and recovery
codes, payout methods (encrypted), withdrawals with their state history, and received
payout-provider events.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # KYC status names as the product states them: "none" becomes "unverified"
    with op.batch_alter_table("users") as batch:
        batch.alter_column(
            "kyc_status",
            existing_type=sa.String(16),
            server_default="unverified",
            existing_nullable=False,
        )
    op.execute("UPDATE users SET kyc_status = 'unverified' WHERE kyc_status = 'none'")
    op.create_table(
        "totp_credentials",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'active')", name=op.f("ck_totp_credentials_state")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_totp_credentials")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(200), nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "code_hash", name=op.f("pk_recovery_codes")),
    )
    op.create_table(
        "payout_methods",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("details_encrypted", sa.Text(), nullable=False),
        sa.Column("masked", sa.String(64), nullable=False),
        sa.Column("usable_from", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("removed_at", TS, nullable=True),
        sa.CheckConstraint("kind IN ('paypal', 'bank')", name=op.f("ck_payout_methods_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_methods")),
    )
    op.create_index(op.f("ix_payout_methods_user_id_id"), "payout_methods", ["user_id", "id"])
    op.create_table(
        "withdrawals",
        sa.Column("id", ID, nullable=False, autoincrement=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("method_id", ID, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("pending_id", ID, nullable=True),
        sa.Column("provider_ref", sa.String(255), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("expected_payment_on", sa.Date(), nullable=True),
        sa.Column("failure_reason", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "diamonds > 0 AND gross_minor > 0 AND net_minor >= 0",
            name=op.f("ck_withdrawals_amounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
    )
    op.create_index(op.f("ix_withdrawals_user_id_id"), "withdrawals", ["user_id", "id"])
    op.create_index(op.f("ix_withdrawals_state_id"), "withdrawals", ["state", "id"])
    op.create_index(
        op.f("ix_withdrawals_user_id_local_day"), "withdrawals", ["user_id", "local_day"]
    )
    op.create_table(
        "withdrawal_history",
        sa.Column("withdrawal_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("txn_id", ID, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("withdrawal_id", "seq", name=op.f("pk_withdrawal_history")),
    )
    op.create_table(
        "payout_events",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("withdrawal_id", ID, nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_payout_events")),
    )


def downgrade() -> None:
    op.execute("UPDATE users SET kyc_status = 'none' WHERE kyc_status = 'unverified'")
    with op.batch_alter_table("users") as batch:
        batch.alter_column(
            "kyc_status",
            existing_type=sa.String(16),
            server_default="none",
            existing_nullable=False,
        )
    op.drop_table("payout_events")
    op.drop_table("withdrawal_history")
    op.drop_index(op.f("ix_withdrawals_user_id_local_day"), table_name="withdrawals")
    op.drop_index(op.f("ix_withdrawals_state_id"), table_name="withdrawals")
    op.drop_index(op.f("ix_withdrawals_user_id_id"), table_name="withdrawals")
    op.drop_table("withdrawals")
    op.drop_index(op.f("ix_payout_methods_user_id_id"), table_name="payout_methods")
    op.drop_table("payout_methods")
    op.drop_table("recovery_codes")
    op.drop_table("totp_credentials")
