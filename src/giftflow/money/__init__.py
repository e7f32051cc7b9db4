"""Exact money: assets, amounts, conversions and the economy policy."""
