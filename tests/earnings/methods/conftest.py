"""The second-factor app fixture, shared with tests/earnings/identity."""

from tests.earnings.identity.conftest import fapi

__all__ = ["fapi"]
