"""The providers a server offers: listed in the settings and configured; anything else is
``unknown_provider``."""

from __future__ import annotations

from typing import Any

import pytest

from giftflow.errors import UnknownProvider
from giftflow.payments.appstore import AppStoreProvider
from giftflow.payments.registry import (
    listed_providers,
    provider_for,
    providers_from_settings,
)
from giftflow.payments.sandbox import SandboxProvider
from giftflow.payments.stripe_provider import StripeProvider
from giftflow.settings import Settings


def settings(**values: Any) -> Settings:
    """Settings with every payment field given, so the environment cannot leak in."""
    base: dict[str, Any] = {
        "database_url": "sqlite:///unused.db",
        "payment_providers": "sandbox,stripe,appstore",
        "stripe_api_key": "",
        "stripe_webhook_secret": "",
        "stripe_api_base": "https://api.stripe.com",
        "appstore_bundle_id": "",
        "appstore_root_certificates": "",
    }
    return Settings(**{**base, **values})


STRIPE = {"stripe_api_key": "sk_test_x", "stripe_webhook_secret": "whsec_x"}


def test_by_default_only_the_sandbox_is_configured() -> None:
    providers = providers_from_settings(settings())
    assert list(providers) == ["sandbox"]
    assert isinstance(providers["sandbox"], SandboxProvider)


def test_stripe_with_a_key_and_a_signing_secret() -> None:
    providers = providers_from_settings(
        settings(**STRIPE, stripe_api_base="http://localhost:12111")
    )
    assert list(providers) == ["sandbox", "stripe"]
    stripe = providers["stripe"]
    assert isinstance(stripe, StripeProvider)
    assert stripe.api_base == "http://localhost:12111"


@pytest.mark.parametrize(
    "values",
    [
        {"stripe_api_key": "sk_test_x"},  # payments would start but never be confirmed
        {"stripe_webhook_secret": "whsec_x"},  # nothing to create payments with
    ],
)
def test_stripe_half_configured_is_not_offered(values: dict[str, str]) -> None:
    providers = providers_from_settings(settings(**values))
    assert "stripe" not in providers
    with pytest.raises(UnknownProvider):
        provider_for(providers, "stripe")


def test_appstore_once_a_bundle_id_and_roots_are_set() -> None:
    values = {"appstore_bundle_id": "com.example.app", "appstore_root_certificates": "root.cer"}
    providers = providers_from_settings(settings(**values))
    assert isinstance(providers["appstore"], AppStoreProvider)
    assert "appstore" not in providers_from_settings(settings(appstore_bundle_id="com.x"))
    assert "appstore" not in providers_from_settings(
        settings(appstore_root_certificates="root.cer")
    )


def test_only_listed_providers_are_offered() -> None:
    providers = providers_from_settings(settings(payment_providers="sandbox", **STRIPE))
    assert list(providers) == ["sandbox"]
    providers = providers_from_settings(settings(payment_providers="stripe", **STRIPE))
    assert list(providers) == ["stripe"]
    assert providers_from_settings(settings(payment_providers="")) == {}


def test_the_list_is_forgiving_about_spaces_case_and_repeats() -> None:
    s = settings(payment_providers=" Stripe , sandbox,,stripe ,")
    assert listed_providers(s) == ["stripe", "sandbox"]
    assert list(providers_from_settings(settings(payment_providers=" SANDBOX "))) == ["sandbox"]


def test_an_unknown_name_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="paypal"):
        providers_from_settings(settings(payment_providers="sandbox,paypal"))


def test_every_provider_is_registered_under_its_own_name() -> None:
    values = {
        **STRIPE,
        "appstore_bundle_id": "com.example.app",
        "appstore_root_certificates": "root.cer",
    }
    providers = providers_from_settings(settings(**values))
    assert set(providers) == {"sandbox", "stripe", "appstore"}
    for name, provider in providers.items():
        assert provider.name == name
        assert provider_for(providers, name) is provider


def test_provider_for_an_unknown_name() -> None:
    providers = providers_from_settings(settings())
    with pytest.raises(UnknownProvider) as caught:
        provider_for(providers, "stripe")
    assert caught.value.status == 422 and caught.value.code == "unknown_provider"
    assert caught.value.details == {"provider": "stripe", "configured": ["sandbox"]}
    with pytest.raises(UnknownProvider):
        provider_for(providers, "Sandbox")  # names are exact
