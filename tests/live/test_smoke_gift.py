from __future__ import annotations

from tests.live.conftest import OpenLive


def test_a_panda_gives_two_and_a_half_diamonds(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        r = api.gift("v1", live, "panda")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["coins"]["amount"] == 5
        assert body["diamonds"]["amount"] == 250
        assert body["balance"]["amount"] == 95
        assert body["seq"] == 2
        assert api.balance("creator:c1:diamonds", "DIAMOND") == 250
        assert api.live(live)["gifts_count"] == 1
        api.assert_clean()
