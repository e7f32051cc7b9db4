"""Which payout providers this server has, built once from the settings, and who pays a method.

- ``sandbox``: always (embedded; ``GIFTFLOW_SANDBOX_PAYOUT_SETTLE_SECONDS`` and
  ``GIFTFLOW_SANDBOX_PAYOUT_WEBHOOK_SECRET``). It keeps its payouts in memory, so build the
  providers **once** per process (at startup) and share them.
- ``paypal``: only with ``GIFTFLOW_PAYPAL_CLIENT_ID``, ``_CLIENT_SECRET`` and ``_WEBHOOK_ID``
  all set (without the webhook id no PayPal webhook verifies, so payouts would never end); it
  talks to ``GIFTFLOW_PAYPAL_API_BASE``.

``GIFTFLOW_PAYOUT_PROVIDER`` (``payout_provider``) says who pays PayPal e-mail methods:
``sandbox`` (the default) or ``paypal``. Bank accounts are always paid through the sandbox
(giftflow has no bank rail). A name giftflow does not know is a configuration mistake and fails
at startup (``ValueError``); ``paypal`` chosen but not configured is ``UnknownProvider`` when a
withdrawal asks for it, naming what is missing, so the sandbox-only setups still start.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from giftflow.errors import UnknownProvider
from giftflow.payouts.paypal import PayPalPayouts
from giftflow.payouts.providers import PayoutProvider
from giftflow.payouts.sandbox import SandboxPayouts
from giftflow.settings import Settings

SANDBOX: Final = "sandbox"
PAYPAL: Final = "paypal"
KNOWN: Final = (SANDBOX, PAYPAL)
"""Every payout provider giftflow knows."""


def paypal_configured(settings: Settings) -> bool:
    """Whether the settings can build a working PayPal provider."""
    return bool(
        settings.paypal_client_id and settings.paypal_client_secret and settings.paypal_webhook_id
    )


def chosen_provider(settings: Settings) -> str:
    """``payout_provider`` trimmed and lower-cased; ``ValueError`` if giftflow does not know it."""
    name = settings.payout_provider.strip().lower()
    if name not in KNOWN:
        raise ValueError(
            f"GIFTFLOW_PAYOUT_PROVIDER is {settings.payout_provider!r}; known: {list(KNOWN)}"
        )
    return name


def sandbox_webhook_secret(settings: Settings) -> str:
    """The sandbox payout webhooks' HMAC key: the one configured, else one derived from the JWT
    secret, so that no installation accepts webhooks signed with a key everyone knows (a forged
    ``FAILED`` would hand a creator's diamonds back while the payout goes out). Without a JWT
    secret either, a random key: this process's own sandbox events still verify."""
    if settings.sandbox_payout_webhook_secret:
        return settings.sandbox_payout_webhook_secret
    root = settings.jwt_secret or secrets.token_urlsafe(32)
    return hmac.new(root.encode(), b"giftflow sandbox payout webhooks", hashlib.sha256).hexdigest()


def payout_providers_from_settings(
    settings: Settings, now: Callable[[], datetime]
) -> dict[str, PayoutProvider]:
    """The payout providers this server has (see the module docstring); ``now`` is the app
    clock's ``now`` (``ctx.clock.now``), so tests move sandbox payouts with a frozen clock."""
    chosen_provider(settings)  # fail at startup on a name giftflow does not know
    providers: dict[str, PayoutProvider] = {
        SANDBOX: SandboxPayouts(
            now,
            settle_seconds=settings.sandbox_payout_settle_seconds,
            webhook_secret=sandbox_webhook_secret(settings),
        )
    }
    if paypal_configured(settings):
        providers[PAYPAL] = PayPalPayouts(
            settings.paypal_client_id,
            settings.paypal_client_secret,
            api_base=settings.paypal_api_base,
            webhook_id=settings.paypal_webhook_id,
            now=now,
        )
    return providers


def provider_for_method(
    providers: Mapping[str, PayoutProvider], settings: Settings, method_kind: str
) -> PayoutProvider:
    """Who pays a payout method of ``method_kind`` (``paypal`` or ``bank``).

    PayPal e-mail methods go to ``payout_provider``; bank methods to the sandbox. Raises
    ``UnknownProvider`` when that provider is not configured here (or the kind is unknown).
    """
    if method_kind == "paypal":
        name = chosen_provider(settings)
    elif method_kind == "bank":
        name = SANDBOX
    else:
        raise UnknownProvider(
            f"No payout provider pays {method_kind[:20]!r} methods (paypal, bank).",
            method_kind=method_kind[:20],
        )
    provider = providers.get(name)
    if provider is None:
        missing = [
            f"GIFTFLOW_PAYPAL_{field.upper()}"
            for field in ("client_id", "client_secret", "webhook_id")
            if not getattr(settings, f"paypal_{field}")
        ]
        raise UnknownProvider(
            f"The payout provider {name!r} is not configured on this server"
            + (f" (set {', '.join(missing)})." if missing else "."),
            provider=name,
            configured=sorted(providers),
            missing_settings=missing,
        )
    return provider
