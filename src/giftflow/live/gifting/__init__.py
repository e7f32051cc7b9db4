"""Sending gifts: one command through the batching writer, combos, and their events."""
