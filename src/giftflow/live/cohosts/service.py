"""Co-hosts between the routes and the writer: who may add or remove one is decided inside
the command, under the live's room lock (the live's creator is read there); the list is a
plain read."""

from __future__ import annotations

from typing import Any

from giftflow.context import AppContext
from giftflow.errors import NotFound
from giftflow.ledger.idempotency import Outcome
from giftflow.live.cohosts import repository
from giftflow.live.cohosts.commands import AddCohost, RemoveCohost


def add_command(ctx: AppContext, live_id: int, by: str, user_id: str) -> AddCohost:
    policy = ctx.policies.in_force(ctx.clock.now())
    return AddCohost(live_id, user_id, by=by, policy=policy)


async def remove(ctx: AppContext, live_id: int, user_id: str, by: str) -> Outcome:
    return await ctx.submit(RemoveCohost(live_id, user_id, by=by))


def listing(ctx: AppContext, live_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        host = repository.live_creator(conn, live_id)
        if host is None:
            raise NotFound("No such live.", id=str(live_id))
        data = repository.current(conn, live_id)
    return {"object": "list", "live_id": str(live_id), "host_id": host, "data": data}
