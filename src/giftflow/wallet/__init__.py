"""A viewer's and creator's own money: balances and history (the coin store lands here later)."""
