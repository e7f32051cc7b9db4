"""LIVE engagement: battles."""
