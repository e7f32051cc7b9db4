"""Combos (streaks): repeated sends of one streakable gift by one viewer, and their end events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.live.conftest import LiveApi, OpenLive

WINDOW = timedelta(milliseconds=3000)  # seed-002's gifts.combo_window_ms (the default)


def of_type(api: LiveApi, live: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in api.events(live) if e["type"] == kind]


def test_five_quick_roses_are_one_combo(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        assert api.ctx.policies.in_force(api.clock.now()).gifts.combo_window_ms == 3000
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        answers = []
        for n in range(5):
            r = api.gift("v1", live, "rose", idem=f"r{n}")
            assert r.status_code == 201, r.text
            answers.append(r.json())
            api.clock.advance(timedelta(milliseconds=500))
        combo = answers[0]["combo_id"]
        assert combo is not None
        assert [a["combo_id"] for a in answers] == [combo] * 5
        assert [a["combo_count"] for a in answers] == [1, 2, 3, 4, 5]
        gifts = of_type(api, live, "gift")
        assert [(g["combo_id"], g["combo_count"], g["combo_end"]) for g in gifts] == [
            (combo, n, False) for n in range(1, 6)
        ]
        assert [g["seq"] for g in gifts] == [a["seq"] for a in answers] == [2, 3, 4, 5, 6]
        assert of_type(api, live, "combo") == []
        # the window passes: the streak's end event, written once (by us or by the app's loop)
        api.clock.advance(WINDOW)
        api.close_combos()
        ends = of_type(api, live, "combo")
        assert len(ends) == 1
        end = ends[0]
        assert (end["combo_id"], end["combo_count"], end["coins"], end["combo_end"]) == (
            combo,
            5,
            5,
            True,
        )
        assert end["seq"] == 7 and end["gift"]["id"] == "rose" and end["sender"]["id"] == "v1"
        api.close_combos()
        assert len(of_type(api, live, "combo")) == 1 and api.live(live)["last_seq"] == 7
        # a send after the window starts a new streak
        r = api.gift("v1", live, "rose", idem="later")
        assert r.json()["combo_id"] not in (None, combo) and r.json()["combo_count"] == 1
        api.assert_clean()


def test_a_send_at_the_edge_of_the_window_still_counts(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        first = api.gift("v1", live, "rose", 10, idem="a").json()
        api.clock.advance(WINDOW)  # exactly the window: not passed
        api.close_combos()
        second = api.gift("v1", live, "rose", 5, idem="b").json()
        assert second["combo_id"] == first["combo_id"]
        assert (first["combo_count"], second["combo_count"]) == (10, 15)
        assert of_type(api, live, "combo") == []
        # one millisecond past the window, a send ends the old streak and opens another
        api.clock.advance(WINDOW + timedelta(milliseconds=1))
        third = api.gift("v1", live, "rose", idem="c").json()
        assert third["combo_id"] != first["combo_id"] and third["combo_count"] == 1
        events = api.events(live)
        ends = [e for e in events if e["type"] == "combo"]
        assert [(e["combo_id"], e["combo_count"], e["coins"]) for e in ends] == [
            (first["combo_id"], 15, 15)
        ]
        assert ends[0]["seq"] < third["seq"]  # the old streak ends before the new one's gift


def test_streaks_are_per_viewer_and_gift_and_fireworks_never_streak(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        api.creator("c1")
        api.viewer("v1", coins=5000)
        api.viewer("v2", coins=5000)
        live = api.start("c1")
        sends = [
            ("v1", "rose", 3),
            ("v2", "rose", 1),
            ("v1", "panda", 2),
            ("v1", "fireworks", 2),
            ("v1", "rose", 4),
            ("v2", "rose", 2),
            ("v1", "fireworks", 1),
            ("v1", "panda", 1),
        ]
        answers = []
        for n, (who, gift, count) in enumerate(sends):
            r = api.gift(who, live, gift, count, idem=f"s{n}")
            assert r.status_code == 201, r.text
            answers.append(r.json())
        combo = {(who, gift): answers[n]["combo_id"] for n, (who, gift, _) in enumerate(sends)}
        streaks = [combo[("v1", "rose")], combo[("v2", "rose")], combo[("v1", "panda")]]
        assert len(set(streaks)) == 3 and None not in streaks
        assert [a["combo_count"] for a in answers] == [3, 1, 2, 2, 7, 3, 1, 3]
        fireworks = [a for a in answers if a["gift_id"] == "fireworks"]
        assert [a["combo_id"] for a in fireworks] == [None, None]
        gift_events = of_type(api, live, "gift")
        assert [e["combo_end"] for e in gift_events if e["gift"]["id"] == "fireworks"] == [
            True,
            True,
        ]
        # the live ends: every open streak ends first, then live_ended
        assert api.end(live, "c1").status_code == 200
        events = api.events(live)
        assert [e["type"] for e in events[-4:]] == ["combo", "combo", "combo", "live_ended"]
        ends = {e["combo_id"]: (e["combo_count"], e["coins"]) for e in events[-4:-1]}
        assert ends == {
            combo[("v1", "rose")]: (7, 7),
            combo[("v2", "rose")]: (3, 3),
            combo[("v1", "panda")]: (3, 15),
        }
        # the counts in the events add up to the ledger's coins
        spent = 10_000 - api.coins("v1") - api.coins("v2")
        assert sum(e["coins"] for e in gift_events) == spent == 7 + 3 + 15 + 3 * 999
        assert sum(e["coins"] for e in events if e["type"] == "combo") == 7 + 3 + 15
        assert sum(e["count"] for e in gift_events) == sum(c for _, _, c in sends)
        assert api.balance("platform:revenue:gifts", "COIN") == spent
        assert api.live(live)["coins"]["amount"] == spent
        # nothing is left to close
        api.clock.advance(timedelta(minutes=1))
        api.close_combos()
        assert api.events(live)[-1]["type"] == "live_ended"
        api.assert_clean()


def test_the_loop_closes_streaks_of_several_lives(open_live: OpenLive) -> None:
    with open_live("seed-002") as api:
        lives = []
        for c in ("c1", "c2", "c3"):
            api.creator(c)
            lives.append(api.start(c))
        api.viewer("v1", coins=100)
        for n, live in enumerate(lives):
            assert api.gift("v1", live, "rose", n + 1, idem=f"g{n}").status_code == 201
        api.clock.advance(WINDOW + timedelta(seconds=1))
        api.close_combos()
        for n, live in enumerate(lives):
            ends = of_type(api, live, "combo")
            assert [(e["combo_count"], e["combo_end"]) for e in ends] == [(n + 1, True)]
            seqs = [e["seq"] for e in api.events(live)]
            assert seqs == [1, 2, 3]
