"""The admins' provider-event list pages with a cursor: an index in its order.

``GET /v1/admin/payment-events`` lists events newest first, ordered by
``(received_at, provider, event_id)`` and paged by a cursor on that key; without an index every
page sorted the whole table.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NAME = "ix_payment_events_received_at_provider_event_id"


def upgrade() -> None:
    op.create_index(op.f(NAME), "payment_events", ["received_at", "provider", "event_id"])


def downgrade() -> None:
    op.drop_index(op.f(NAME), table_name="payment_events")
