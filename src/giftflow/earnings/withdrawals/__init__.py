"""Withdrawals and their payout state machine."""
