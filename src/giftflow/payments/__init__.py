"""Payment providers: adapters (sandbox, Stripe-compatible, App Store) and signed webhooks.

This package knows nothing of purchases: it starts and refunds payments at a provider, verifies
what a provider sends and turns it into a provider-neutral ``ProviderEvent``. The wallet registers
the ``EventSink`` that applies those events (``app.state.payment_sink``), so imports flow one way.
"""
