"""The in-process API, and the LIVE/withdrawals apps for the routes that need an economy."""

from tests.api.conftest import api
from tests.earnings.withdrawals.conftest import open_w
from tests.live.conftest import open_live

__all__ = ["api", "open_live", "open_w"]
