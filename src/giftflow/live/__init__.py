"""LIVE: the gift catalog, live rooms and their viewers, and sending gifts."""
