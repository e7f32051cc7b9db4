"""AppStoreProvider: a fresh appAccountToken per purchase; refunds belong to Apple."""

from __future__ import annotations

import uuid

import pytest

from giftflow.errors import ProviderError
from giftflow.payments.appstore import AppStoreProvider
from giftflow.payments.providers import PaymentProvider, PaymentRequest, StartStatus

REQUEST = PaymentRequest(
    purchase_id=41,
    user_id="u1",
    amount_minor=160,
    currency="JPY",
    description="100 coins",
)


def test_start_returns_pending_with_a_fresh_uuid4_token() -> None:
    provider: PaymentProvider = AppStoreProvider()  # satisfies the protocol (mypy checks)
    assert provider.name == "appstore"
    first = provider.start(REQUEST)
    assert first.status is StartStatus.PENDING
    token = uuid.UUID(first.provider_ref)
    assert token.version == 4
    assert first.provider_ref == str(token)  # canonical lower-case text, as Apple echoes it
    assert first.client_secret == first.provider_ref  # the app receives it for StoreKit
    assert (first.failure_reason, first.dispute_later) == (None, False)
    assert provider.start(REQUEST).provider_ref != first.provider_ref  # never guessable/reused


def test_refund_is_refused_apple_refunds() -> None:
    with pytest.raises(ProviderError) as caught:
        AppStoreProvider().refund(str(uuid.uuid4()), 160, "JPY", key="refund-41")
    error = caught.value
    assert error.code == "provider_error"
    assert "Apple" in error.message and "REFUND notification" in error.message
    assert error.details["reason"] == "refunded_by_apple_only"
