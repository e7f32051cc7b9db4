"""Remember a provider refund still owed to the buyer.

giftflow refunds a purchase in its ledger first and then asks the provider to pay the money
back. If that call fails (the provider is down, the process dies), ``provider_refund_due_at``
stays set and the maintenance loop asks again (the provider call is idempotent by the key
``refund-{purchase id}``) until it succeeds.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(
            sa.Column("provider_refund_due_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index(
        op.f("ix_purchases_provider_refund_due_at"),
        "purchases",
        ["provider_refund_due_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_purchases_provider_refund_due_at"), table_name="purchases")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("provider_refund_due_at")
