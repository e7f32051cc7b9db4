"""Payout providers: sandbox and a PayPal-Payouts-shaped adapter, and their webhooks.

- ``providers.py``: the ``PayoutProvider`` interface and its values (request, result, event);
- ``sandbox.py``: ``SandboxPayouts``, embedded and deterministic (outcome by a ``+tag``);
- ``paypal.py``: ``PayPalPayouts``, PayPal Payouts v1 over ``httpx``;
- ``webhooks.py``: the one parser of PayPal-shaped payout events, shared by both;
- ``registry.py``: the providers built from the settings, and who pays each method kind.

Nothing here knows withdrawals: ``giftflow.earnings.withdrawals`` calls these providers and maps
``PayoutStatus`` to its own states.
"""
