"""The purchases tests' app fixture (``open_api``), shared by the report's tests."""

from tests.wallet.purchases.conftest import open_api

__all__ = ["open_api"]
