"""Which payout providers a server has, and who pays each kind of payout method."""

from __future__ import annotations

from typing import Any

import pytest

from giftflow.clock import FrozenClock
from giftflow.errors import UnknownProvider
from giftflow.payouts.paypal import PayPalPayouts
from giftflow.payouts.providers import PayoutRequest, PayoutStatus
from giftflow.payouts.registry import payout_providers_from_settings, provider_for_method
from giftflow.payouts.sandbox import SandboxPayouts
from giftflow.settings import Settings

from .conftest import START

PAYPAL = {
    "paypal_client_id": "id",
    "paypal_client_secret": "secret",
    "paypal_webhook_id": "WH-1",
}


def settings(**values: Any) -> Settings:
    """Settings with every payout field given, so the environment cannot leak in."""
    base: dict[str, Any] = {
        "database_url": "sqlite:///unused.db",
        "paypal_client_id": "",
        "paypal_client_secret": "",
        "paypal_webhook_id": "",
        "paypal_api_base": "https://api-m.sandbox.paypal.com",
        "payout_provider": "sandbox",
        "sandbox_payout_settle_seconds": 10,
        "sandbox_payout_webhook_secret": "",
        "jwt_secret": "jwt-secret-of-this-installation",
    }
    return Settings(**{**base, **values})


def test_by_default_only_the_sandbox(clock: FrozenClock) -> None:
    providers = payout_providers_from_settings(settings(), clock.now)
    assert list(providers) == ["sandbox"]
    assert isinstance(providers["sandbox"], SandboxPayouts)


def test_the_sandbox_takes_its_settings_and_the_app_clock(clock: FrozenClock) -> None:
    providers = payout_providers_from_settings(
        settings(sandbox_payout_settle_seconds=0, sandbox_payout_webhook_secret="k"), clock.now
    )
    sandbox = providers["sandbox"]
    assert isinstance(sandbox, SandboxPayouts)
    assert sandbox.webhook_secret == "k"
    request = PayoutRequest(1, "u", 100, "USD", {"kind": "paypal", "email": "a@example.com"})
    assert sandbox.submit(request).status == PayoutStatus.SUCCESS  # settle 0
    assert sandbox.payouts[1].submitted_at == START


def test_without_a_configured_key_the_sandbox_webhooks_have_no_well_known_one(
    clock: FrozenClock,
) -> None:
    """The default used to be the literal "sandbox-payouts": anyone could sign a FAILED event
    and hand a creator's diamonds back while the payout went out."""

    def key(**values: Any) -> str:
        sandbox = payout_providers_from_settings(settings(**values), clock.now)["sandbox"]
        assert isinstance(sandbox, SandboxPayouts)
        return sandbox.webhook_secret

    derived = key()
    assert derived == key()  # every server process of one installation agrees
    assert derived != key(jwt_secret="another-installation-entirely")
    assert len(derived) == 64 and "sandbox-payouts" not in derived
    random_ones = {key(jwt_secret=""), key(jwt_secret="")}
    assert len(random_ones) == 2  # no JWT secret: a random key per process
    assert len(SandboxPayouts(clock.now).webhook_secret) >= 32  # the class has no default key


def test_paypal_with_all_three_settings(clock: FrozenClock) -> None:
    providers = payout_providers_from_settings(
        settings(**PAYPAL, paypal_api_base="http://localhost:9999/"), clock.now
    )
    assert list(providers) == ["sandbox", "paypal"]
    paypal = providers["paypal"]
    assert isinstance(paypal, PayPalPayouts)
    assert paypal.api_base == "http://localhost:9999"
    assert paypal.webhook_id == "WH-1"


@pytest.mark.parametrize("absent", list(PAYPAL))
def test_paypal_is_absent_without_any_of_them(clock: FrozenClock, absent: str) -> None:
    values = {**PAYPAL, absent: ""}
    assert list(payout_providers_from_settings(settings(**values), clock.now)) == ["sandbox"]


def test_an_unknown_payout_provider_fails_at_startup(clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="GIFTFLOW_PAYOUT_PROVIDER"):
        payout_providers_from_settings(settings(payout_provider="stripe"), clock.now)


def test_paypal_methods_go_to_the_chosen_provider(clock: FrozenClock) -> None:
    sandboxed = settings(**PAYPAL)
    providers = payout_providers_from_settings(sandboxed, clock.now)
    assert provider_for_method(providers, sandboxed, "paypal") is providers["sandbox"]
    chosen = settings(**PAYPAL, payout_provider=" PayPal ")
    providers = payout_providers_from_settings(chosen, clock.now)
    assert provider_for_method(providers, chosen, "paypal") is providers["paypal"]


def test_bank_methods_always_go_to_the_sandbox(clock: FrozenClock) -> None:
    chosen = settings(**PAYPAL, payout_provider="paypal")
    providers = payout_providers_from_settings(chosen, clock.now)
    assert provider_for_method(providers, chosen, "bank") is providers["sandbox"]


def test_paypal_chosen_but_not_configured_is_unknown_provider(clock: FrozenClock) -> None:
    chosen = settings(payout_provider="paypal", paypal_client_id="id")
    providers = payout_providers_from_settings(chosen, clock.now)
    assert list(providers) == ["sandbox"]
    with pytest.raises(UnknownProvider) as raised:
        provider_for_method(providers, chosen, "paypal")
    error = raised.value
    assert error.details["provider"] == "paypal"
    assert error.details["configured"] == ["sandbox"]
    assert error.details["missing_settings"] == [
        "GIFTFLOW_PAYPAL_CLIENT_SECRET",
        "GIFTFLOW_PAYPAL_WEBHOOK_ID",
    ]
    assert "GIFTFLOW_PAYPAL_WEBHOOK_ID" in error.message
    assert provider_for_method(providers, chosen, "bank") is providers["sandbox"]


def test_an_unknown_method_kind_has_no_provider(clock: FrozenClock) -> None:
    providers = payout_providers_from_settings(settings(), clock.now)
    with pytest.raises(UnknownProvider):
        provider_for_method(providers, settings(), "card")
