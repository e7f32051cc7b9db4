"""Operators: reconcile."""
