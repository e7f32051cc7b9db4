"""Which payment providers this server offers, built once from the settings.

``GIFTFLOW_PAYMENT_PROVIDERS`` (``payment_providers``, comma-separated, default
``sandbox,stripe,appstore``) lists the providers a purchase may name. A listed provider is built
only when it is configured:

- ``sandbox``: always (embedded, nothing to configure; its card fingerprints are keyed with
  ``GIFTFLOW_SECRETS_KEY``, else ``GIFTFLOW_JWT_SECRET``);
- ``stripe``: only with both ``GIFTFLOW_STRIPE_API_KEY`` and ``GIFTFLOW_STRIPE_WEBHOOK_SECRET``;
  it talks to ``GIFTFLOW_STRIPE_API_BASE``;
- ``appstore``: ``AppStoreProvider`` (``payments/appstore.py``), only with
  ``GIFTFLOW_APPSTORE_BUNDLE_ID`` and ``GIFTFLOW_APPSTORE_ROOT_CERTIFICATES``.

A provider that is listed but not configured is simply absent, so a purchase naming it gets
``UnknownProvider`` (422) from ``provider_for``. A name giftflow does not know at all is a
configuration mistake and fails at startup (``ValueError``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from giftflow.errors import UnknownProvider
from giftflow.payments.appstore import AppStoreProvider
from giftflow.payments.providers import PaymentProvider
from giftflow.payments.sandbox import SandboxProvider, fingerprint_key
from giftflow.payments.stripe_provider import StripeProvider
from giftflow.settings import Settings


def _sandbox(settings: Settings) -> PaymentProvider | None:
    """The sandbox, fingerprinting cards with the server's secret (docs/fraud.md)."""
    return SandboxProvider(fingerprint_key(settings.secrets_key, settings.jwt_secret))


def _stripe(settings: Settings) -> PaymentProvider | None:
    """Stripe, once it can both create payments (API key) and hear how they end (signing
    secret): without the secret no webhook verifies, so the buyer would pay and stay pending."""
    if not (settings.stripe_api_key and settings.stripe_webhook_secret):
        return None
    return StripeProvider(settings.stripe_api_key, api_base=settings.stripe_api_base)


def _appstore(settings: Settings) -> PaymentProvider | None:
    """The App Store provider (``payments/appstore.py``, written separately).

    Offered once the settings name a bundle id and Apple root certificates: without them no
    App Store notification can ever verify, so a purchase would stay pending for good. The full
    check of those settings (readable certificates, environment, app Apple id) is the App Store
    webhook's (``AppStoreVerifier.from_settings``).
    """
    if not (settings.appstore_bundle_id and settings.appstore_root_certificates.strip()):
        return None
    return AppStoreProvider()


BUILDERS: Mapping[str, Callable[[Settings], PaymentProvider | None]] = {
    "sandbox": _sandbox,
    "stripe": _stripe,
    "appstore": _appstore,
}
"""Every provider giftflow knows, by name, and how to build it from the settings."""


def listed_providers(settings: Settings) -> list[str]:
    """The names in ``payment_providers``, trimmed, lower-cased, in order, without repeats."""
    names: list[str] = []
    for raw in settings.payment_providers.split(","):
        name = raw.strip().lower()
        if name and name not in names:
            names.append(name)
    return names


def providers_from_settings(settings: Settings) -> dict[str, PaymentProvider]:
    """The providers a purchase may name: listed in the settings and configured."""
    unknown = [name for name in listed_providers(settings) if name not in BUILDERS]
    if unknown:
        raise ValueError(
            f"GIFTFLOW_PAYMENT_PROVIDERS names unknown providers {unknown}; "
            f"known: {sorted(BUILDERS)}"
        )
    providers: dict[str, PaymentProvider] = {}
    for name in listed_providers(settings):
        provider = BUILDERS[name](settings)
        if provider is not None:
            providers[name] = provider
    return providers


def provider_for(providers: Mapping[str, PaymentProvider], name: str) -> PaymentProvider:
    """The provider called ``name``, or ``UnknownProvider`` (422) if it is not offered here."""
    provider = providers.get(name)
    if provider is None:
        raise UnknownProvider(
            f"The payment provider {name[:50]!r} is not configured on this server.",
            provider=name[:50],
            configured=sorted(providers),
        )
    return provider
