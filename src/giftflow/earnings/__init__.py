"""Creator earnings: diamonds, the hold, identity and second factor, payout methods,
withdrawals, exchange and statements."""
