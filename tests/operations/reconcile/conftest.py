"""The in-process API fixture, shared with tests/api."""

from tests.api.conftest import api

__all__ = ["api"]
