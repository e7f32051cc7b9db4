"""Payout providers: sandbox and a PayPal-Payouts-shaped adapter, and their webhooks."""
