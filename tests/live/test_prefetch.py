"""The batch's first reads in one round trip (``ledger.prefetch``, PostgreSQL).

What a prefetcher puts in the batch's memo must be exactly what the lazy read would have read
(same rows, same Python values, same locks), and a gift batch on PostgreSQL must then make none
of the lazy reads itself. On SQLite there is no prefetch: the same batches read lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, text

from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext, Command
from giftflow.ledger.model import AccountRef
from giftflow.live.battles import batch as battles
from giftflow.live.catalog.model import GiftBatchRepository, announce_gift
from giftflow.live.goals import batch as goals
from giftflow.live.goals.repository import GoalBatchRepository
from giftflow.live.rooms import batch as rooms
from giftflow.live.rooms.combos import announce_combo
from giftflow.realtime.outbox import OutboxBatchRepository
from giftflow.schema import wallet_state
from giftflow.wallet.purchases.batch import announce_wallet
from giftflow.wallet.purchases.repository import PurchaseBatchRepository
from tests.live.conftest import LiveApi, OpenLive, err
from tests.live.goals.test_goals import set_goal

# the statements of a gift batch's lazy reads (the PostgreSQL ones: arrays joined)
LAZY_READS = (
    "FROM room_sequences s JOIN unnest",
    "FROM lives l JOIN unnest",
    "FROM users u JOIN unnest",
    "FROM gifts",
    "INSERT INTO wallet_state",
    "FROM wallet_state s JOIN unnest",
    "FROM live_combos c JOIN unnest",
    "FROM live_goals g JOIN unnest",
    "FROM battle_sides s JOIN unnest",
)


@contextmanager
def statements(api: LiveApi) -> Iterator[list[str]]:
    """Every statement the writer sends through SQLAlchemy meanwhile (the prefetch's pipeline
    goes through the driver and is not among them)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    engine = api.ctx.writer.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def lazy_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if any(t in s for t in LAZY_READS)]


def test_a_gift_batch_makes_its_reads_in_one_round_trip(
    open_live: OpenLive, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []
    run = prefetch._run

    def counting(conn: Any, reads: Any, statements: Any) -> None:
        sent.append(len(reads))
        run(conn, reads, statements)

    monkeypatch.setattr(prefetch, "_run", counting)
    with open_live("standard") as api:
        api.creator("c1")
        for v in ("v1", "v2", "v3"):
            api.viewer(v, coins=100)
        live = api.start("c1")
        assert set_goal(api, "c1", live, "goal-1", target=50).status_code == 201
        sent.clear()
        with statements(api) as seen:
            answers = api.in_one_batch(
                *(lambda v=v: api.gift(v, live, "rose", 3, idem=f"{v}-a") for v in ("v1", "v2"))
            )
        assert [r.status_code for r in answers] == [201, 201]
        events = api.events(live)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert sorted(r.json()["seq"] for r in answers) == [
            e["seq"] for e in events if e["type"] == "gift"
        ]
        assert api.coins("v1") == api.coins("v2") == 97
        goal = api.client.get(f"/v1/lives/{live}/goals", headers=api.platform()).json()["data"]
        assert goal[0]["progress"] == 6
        if database_url.startswith("postgresql"):
            assert lazy_reads(seen) == []
            # what its commands announced, in one pipeline: rooms, lives, users, gifts, the
            # wallets (create, lock), combos, goals and battles
            assert max(sent) >= 9
        else:
            assert sent == []  # SQLite reads lazily
            assert lazy_reads(seen) != []
        api.assert_clean()


class _Compare(Command):
    """Announces a live, its creator and a viewer, a streak, a gift and the live's goals; then
    checks that what the batch's memo holds is what a lazy read reads now, in the same batch."""

    kind = "test.prefetch.compare"
    success_status = 200

    def __init__(self, live_id: int, viewer: str, creator: str) -> None:
        self.live_id, self.viewer, self.creator = live_id, viewer, creator

    def account_hints(self, ctx: BatchContext) -> Iterable[AccountRef]:
        rooms.announce(ctx, self.live_id, self.viewer, self.creator)
        announce_wallet(ctx, self.viewer)
        announce_combo(ctx, (self.live_id, self.viewer, "rose"))
        announce_gift(ctx, "rose")
        announce_gift(ctx, "no-such-gift")
        goals.announce(ctx, self.live_id)
        battles.announce_live(ctx, self.live_id)
        return ()

    def apply(self, ctx: BatchContext) -> dict[str, Any]:
        memo, live_id = ctx.book.memo, self.live_id
        checked: dict[str, Any] = {}

        def same(prefetched: Any, read: Any) -> bool:  # repr: types and time zones too
            return prefetched == read and repr(prefetched) == repr(read)

        seqs = ctx.repository(OutboxBatchRepository).lock_rooms([live_id])
        checked["room"] = same(memo.get(("outbox.seq", live_id)), seqs[live_id])
        lives = rooms.repo(ctx).lives([live_id])
        checked["live"] = same(memo.get(("live.row", live_id)), lives[live_id])
        users = rooms.repo(ctx).users([self.viewer, self.creator, "nobody"])
        checked["users"] = all(
            same(memo.get(("live.user", u)), users[u]) for u in (self.viewer, self.creator)
        )
        wallets = ctx.repository(PurchaseBatchRepository).lock_wallets([self.viewer], ctx.now)
        checked["wallet"] = same(memo.get(("wallet.state", self.viewer)), wallets[self.viewer])
        key = (live_id, self.viewer, "rose")
        combos = rooms.repo(ctx).combos([key])
        checked["combo"] = key in combos and same(memo.get(("live.combo", key)), combos[key])
        cache = ctx.repository(GiftBatchRepository)._cache
        fresh = GiftBatchRepository(ctx.repo.conn)
        checked["gift"] = fresh.gift("rose") is not None and same(
            cache.get("rose"), fresh.gift("rose")
        )
        checked["unknown gift"] = "no-such-gift" in cache and cache["no-such-gift"] is None
        read = ctx.repository(GoalBatchRepository).goals([live_id])
        checked["goals"] = same(memo.get(("goals.of", live_id)), tuple(read[live_id]))
        checked["battles"] = memo.get(("battles.live", live_id)) == ()
        return checked


def test_what_is_prefetched_is_what_a_lazy_read_reads(
    open_live: OpenLive, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the prefetch runs on PostgreSQL only")
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=100)
        live = api.start("c1")
        assert set_goal(api, "c1", live, "goal-1", target=50).status_code == 201
        assert api.gift("v1", live, "rose", 2).status_code == 201  # an open streak
        outcome = api.ctx.writer.execute(_Compare(int(live), "v1", "c1"))
        assert outcome.status == 200, outcome.body
        assert outcome.body == dict.fromkeys(outcome.body, True)
        assert len(outcome.body) == 9


def test_prefetchers_run_in_their_order_and_replace_by_name() -> None:
    before = list(prefetch._PREFETCHERS)
    try:
        prefetch.register(5, "test.b", lambda ctx: ())
        prefetch.register(1, "test.a", lambda ctx: ())
        prefetch.register(99, "test.b", lambda ctx: ())  # replaces the first test.b
        names = [name for _, name, _ in prefetch._PREFETCHERS]
        assert names.count("test.b") == 1
        assert names.index("test.a") < names.index("realtime.outbox") < names.index("test.b")
        assert names.index("realtime.outbox") < names.index("wallet.states")  # rooms lock first
    finally:
        prefetch._PREFETCHERS[:] = before


def test_a_refused_sender_gets_no_wallet(open_live: OpenLive) -> None:
    """A gift from a user the platform never created is refused before anything is read for
    it: no wallet row is created (or locked) for that id, on either database."""
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        r = api.gift("ghost", live)  # alone in its batch
        assert err(r) == (422, "user_not_found")
        ghost, v1 = api.in_one_batch(  # and with a gift that goes through
            lambda: api.gift("ghost", live, idem="ghost-2"), lambda: api.gift("v1", live)
        )
        assert err(ghost) == (422, "user_not_found")
        assert v1.status_code == 201
        assert api.coins("v1") == 9
        with api.ctx.engine.connect() as conn:
            owners = set(conn.execute(select(wallet_state.c.user_id)).scalars())
        assert "ghost" not in owners and "v1" in owners
        api.assert_clean()


def test_a_failing_prefetched_read_fails_its_batch_and_moves_nothing(
    open_live: OpenLive, database_url: str
) -> None:
    """An error in the prefetch pipeline is an error of the batch: the writer splits and retries
    it, the gift is answered ``ledger_write_failed`` (retryable) and nothing moved. A prefetcher
    that fails before sending anything only costs the batch its prefetch."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the prefetch runs on PostgreSQL only")
    before = list(prefetch._PREFETCHERS)
    broken = text("SELECT 1 / (0 * CAST(:n AS int))")
    with open_live("standard") as api:
        api.creator("c1")
        api.viewer("v1", coins=10)
        live = api.start("c1")
        try:
            prefetch.register(99, "test.broken", lambda ctx: [prefetch.Read(broken, {"n": 1})])
            r = api.gift("v1", live, idem="broken-1")
            assert err(r) == (500, "ledger_write_failed")
            assert api.coins("v1") == 10
            prefetch._PREFETCHERS[:] = before

            def raising(ctx: BatchContext) -> list[prefetch.Read]:
                raise RuntimeError("a bug in a prefetcher")

            prefetch.register(99, "test.raising", raising)
            r = api.gift("v1", live, idem="broken-1")  # the same key: it was never stored
            assert r.status_code == 201, r.text
            assert api.coins("v1") == 9
        finally:
            prefetch._PREFETCHERS[:] = before
        api.assert_clean()
