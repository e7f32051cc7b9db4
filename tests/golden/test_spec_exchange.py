"""SPEC §10 example 8 through the HTTP API: under ``standard``, 12 diamonds exchange for 5 coins;
13 diamonds exchange 12 and keep 1."""

from __future__ import annotations

from tests.earnings.balances.conftest import OpenLive, exchange, grant_diamonds, open_live

__all__ = ["open_live"]


def test_example_8_standard_exchange(open_live: OpenLive) -> None:
    with open_live("standard") as api:
        api.creator("twelve")
        api.creator("thirteen")
        grant_diamonds(api, "twelve", 12_00, "g12")
        grant_diamonds(api, "thirteen", 13_00, "g13")

        r = exchange(api, "twelve", 12_00, "x12")
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["exchanged"]["display"], body["coins"]["amount"]) == ("12.00", 5)
        assert body["kept"]["display"] == "0.00"
        assert api.diamonds("twelve") == (0, 0)
        assert api.balance("user:twelve:coins:exchanged", "COIN") == 5

        r = exchange(api, "thirteen", 13_00, "x13")
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["exchanged"]["display"], body["coins"]["amount"]) == ("12.00", 5)
        assert body["kept"]["display"] == "1.00"
        assert body["diamonds_available"]["display"] == "1.00"
        assert api.diamonds("thirteen") == (1_00, 0)
        assert api.balance("user:thirteen:coins:exchanged", "COIN") == 5
        api.assert_clean()
