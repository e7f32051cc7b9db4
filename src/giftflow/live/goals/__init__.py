"""LIVE engagement: goals."""
