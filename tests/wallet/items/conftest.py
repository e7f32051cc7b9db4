"""The wallet app fixture of the purchases tests (``open_api``), shared with the item tests."""

from tests.wallet.purchases.conftest import WalletApi, open_api

__all__ = ["WalletApi", "open_api"]
