"""JSON shape of a purchase and its lot, shared by command outcomes and read endpoints."""

from __future__ import annotations

from typing import Any

from giftflow.clock import rfc3339
from giftflow.money.amounts import amount_view
from giftflow.wallet.purchases.lots import remaining
from giftflow.wallet.purchases.repository import PurchaseRow


def purchase_view(row: PurchaseRow, paid_spent: int | None = None) -> dict[str, Any]:
    """The purchase; with ``paid_spent`` also what is left of its lot."""
    view: dict[str, Any] = {
        "id": str(row.id),
        "object": "purchase",
        "user_id": row.user_id,
        "state": row.state.value,
        "channel": row.channel,
        "provider": row.provider,
        "provider_ref": row.provider_ref,
        "region": row.region,
        "coins": amount_view("COIN", row.coins),
        "bonus_coins": amount_view("COIN", row.bonus_coins),
        "price": amount_view(row.currency, row.price_minor),
        "store_fee": amount_view(row.currency, row.store_fee_minor),
        "pack": row.pack_coins is not None,
        "policy_version": row.policy_version,
        "failure_reason": row.failure_reason,
        "refund_reason": row.refund_reason,
        "provider_refund_due": row.provider_refund_due_at is not None,
        "created_at": rfc3339(row.created_at),
        "succeeded_at": rfc3339(row.succeeded_at) if row.succeeded_at else None,
    }
    if paid_spent is not None:
        view["remaining_coins"] = remaining(row.segments(), paid_spent)
    return view
