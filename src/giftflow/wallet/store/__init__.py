"""The coin store: packs, bonuses and quotes from the policy's price lists."""
