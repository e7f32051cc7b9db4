"""Diamonds to coins at the policy ratio."""
