"""Operators: finance."""
