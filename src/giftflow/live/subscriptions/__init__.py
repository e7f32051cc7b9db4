"""Subscriptions: a monthly coin-priced subscription to a creator, and subscriber-only lives."""
