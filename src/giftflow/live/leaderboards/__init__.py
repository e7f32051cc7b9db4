"""LIVE engagement: leaderboards."""
