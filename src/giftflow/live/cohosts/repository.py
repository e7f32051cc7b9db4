"""Co-host rows: the batch read of which users co-host which lives, the batch extension that
writes the changes, and the endpoint's list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from giftflow.clock import rfc3339
from giftflow.db import upsert_insert
from giftflow.schema import live_cohosts, lives, users


class CohostBatchRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def cohosts(self, live_ids: Iterable[int]) -> dict[int, set[str]]:
        """The current co-hosts (not removed) of each live."""
        wanted = sorted(set(live_ids))
        found: dict[int, set[str]] = {i: set() for i in wanted}
        if not wanted:
            return found
        c = live_cohosts.c
        rows = self.conn.execute(
            select(c.live_id, c.user_id).where(c.live_id.in_(wanted), c.removed_at.is_(None))
        )
        for live_id, user_id in rows:
            found[int(live_id)].add(str(user_id))
        return found


class CohostWrites:
    """Batch extension. Rows: ``(live_id, user_id, True, at)`` adds (a new row, or a removed
    co-host's row made current again with a new ``added_at``), ``(live_id, user_id, False,
    at)`` removes. The last change of each pair in the batch is written, once."""

    name = "live.cohosts"

    def flush(self, conn: Connection, rows: list[tuple[int, str, bool, datetime]]) -> None:
        last: dict[tuple[int, str], tuple[bool, datetime]] = {}
        for live_id, user_id, added, at in rows:
            last[(live_id, user_id)] = (added, at)
        adds = [
            {"live_id": k[0], "user_id": k[1], "added_at": at, "removed_at": None}
            for k, (added, at) in sorted(last.items())
            if added
        ]
        removes = [
            {"c_live": k[0], "c_user": k[1], "c_at": at}
            for k, (added, at) in sorted(last.items())
            if not added
        ]
        if adds:
            stmt = upsert_insert(conn, live_cohosts)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["live_id", "user_id"],
                    set_={"added_at": stmt.excluded.added_at, "removed_at": None},
                ),
                adds,
            )
        if removes:
            c = live_cohosts.c
            conn.execute(
                update(live_cohosts)
                .where(
                    c.live_id == bindparam("c_live"),
                    c.user_id == bindparam("c_user"),
                    c.removed_at.is_(None),
                )
                .values(removed_at=bindparam("c_at")),
                removes,
            )


COHOST_WRITES = CohostWrites()


# --- endpoints ---------------------------------------------------------------------------------
def live_creator(conn: Connection, live_id: int) -> str | None:
    """The live's creator (None: no such live)."""
    found = conn.execute(select(lives.c.creator_id).where(lives.c.id == live_id)).scalar()
    return str(found) if found is not None else None


def current(conn: Connection, live_id: int) -> list[dict[str, Any]]:
    """A live's current co-hosts, first added first, with their display names."""
    c = live_cohosts.c
    rows = conn.execute(
        select(c.user_id, c.added_at, users.c.display_name)
        .join(users, users.c.id == c.user_id, isouter=True)
        .where(c.live_id == live_id, c.removed_at.is_(None))
        .order_by(c.added_at, c.user_id)
    )
    return [
        {
            "user_id": str(r.user_id),
            "name": r.display_name or str(r.user_id),
            "added_at": rfc3339(r.added_at),
        }
        for r in rows
    ]
