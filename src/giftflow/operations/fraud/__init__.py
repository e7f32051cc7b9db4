"""Operators: fraud."""
