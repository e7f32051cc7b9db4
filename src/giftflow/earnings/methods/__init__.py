"""Payout methods: PayPal e-mail or bank account, encrypted at rest, masked, with a cooling-off
period."""
