"""Purchases of coins: creation, confirmation, refunds, disputes, lots."""
