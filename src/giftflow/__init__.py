"""giftflow: a ledger-grade virtual-gift economy for live-streaming apps."""

__version__ = "0.1.0"
