"""Operators: audit."""
