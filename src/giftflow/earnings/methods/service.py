"""Payout methods: where a creator's withdrawals are paid (a PayPal e-mail or a bank account).

Adding, changing and removing one needs the second factor (``verify_second_factor``: a code is
used up, a wrong one counts toward the lock), checked before anything is stored. The details are
sealed (``identity.crypto``: bound to the user, under ``GIFTFLOW_SECRETS_KEY``) and only a masked
form is ever shown. A new or changed method cools off for the policy's
``cashout.method_cooling_off_hours`` (48 by default) before a withdrawal may use it, so a stolen
session that also has the factor still gives the creator time to notice.

Withdrawals use ``repository.usable_method`` (in their own transaction) and ``method_details``
(the decrypted details, for the payout provider).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.earnings.identity.crypto import Sealer
from giftflow.earnings.identity.service import sealer, verify_second_factor
from giftflow.earnings.methods import iban, repository
from giftflow.earnings.methods.repository import MethodRow
from giftflow.earnings.methods.schemas import BankIn, MethodOut, PaypalIn, RemovedOut
from giftflow.errors import NotFound, ValidationFailed

MAX_METHODS = 10  # methods a user may have at once (removed ones do not count)


def _seal_context(user_id: str) -> str:
    return f"payout_method:{user_id}"


def mask_email(email: str) -> str:
    """``p***@example.com``: the first character of the local part and the whole domain."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"


def details_of(body: PaypalIn | BankIn) -> tuple[str, dict[str, str], str]:
    """(kind, the details to seal, the masked form) of a request."""
    if isinstance(body, PaypalIn):
        return "paypal", {"email": body.email}, mask_email(body.email)
    return "bank", {"iban": body.iban, "holder_name": body.holder_name}, iban.mask(body.iban)


def method_out(row: MethodRow, now: datetime) -> MethodOut:
    return MethodOut(
        id=str(row.id),
        kind="paypal" if row.kind == "paypal" else "bank",
        masked=row.masked,
        usable_from=rfc3339(row.usable_from),
        usable=row.usable_at(now),
        created_at=rfc3339(row.created_at),
        updated_at=rfc3339(row.updated_at),
    )


def _usable_from(ctx: AppContext, now: datetime) -> datetime:
    hours = ctx.policies.in_force(now).cashout.method_cooling_off_hours
    return now + timedelta(hours=hours)


def _own(ctx: AppContext, user_id: str, method_id: int) -> MethodRow:
    """The user's method, checked before the factor is asked (a wrong id uses up no code)."""
    with ctx.engine.connect() as conn:
        row = repository.method_of(conn, user_id, method_id)
    if row is None:
        raise NotFound("No such payout method.", id=str(method_id))
    return row


def listing(ctx: AppContext, user_id: str) -> list[MethodOut]:
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        rows = repository.methods_of(conn, user_id)
    return [method_out(r, now) for r in rows]


def add(ctx: AppContext, user_id: str, body: PaypalIn | BankIn) -> MethodOut:
    """Store a new method (sealed, masked), cooling off from now; needs the second factor."""
    seal = sealer(ctx)  # without a key, refuse before the code is used up
    kind, details, masked = details_of(body)
    sealed = seal.seal(details, _seal_context(user_id))
    with ctx.engine.connect() as conn:
        count = len(repository.methods_of(conn, user_id))
    if count >= MAX_METHODS:
        raise ValidationFailed(
            f"A user may have at most {MAX_METHODS} payout methods: remove one first.",
            limit=MAX_METHODS,
        )
    verify_second_factor(ctx, user_id, body.totp)
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        method_id = repository.insert_method(
            conn, user_id, kind, sealed, masked, _usable_from(ctx, now), now
        )
        row = repository.get_method(conn, method_id)
    assert row is not None
    return method_out(row, now)


def change(ctx: AppContext, user_id: str, method_id: int, body: PaypalIn | BankIn) -> MethodOut:
    """Replace a method's details (its kind may change too); the cooling-off starts again."""
    seal = sealer(ctx)
    _own(ctx, user_id, method_id)
    kind, details, masked = details_of(body)
    sealed = seal.seal(details, _seal_context(user_id))
    verify_second_factor(ctx, user_id, body.totp)
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        if repository.method_of(conn, user_id, method_id, lock=True) is None:
            raise NotFound("No such payout method.", id=str(method_id))  # removed meanwhile
        repository.update_method(conn, method_id, kind, sealed, masked, _usable_from(ctx, now), now)
        row = repository.get_method(conn, method_id)
    assert row is not None
    return method_out(row, now)


def remove(ctx: AppContext, user_id: str, method_id: int, code: str) -> RemovedOut:
    """Remove a method (the row stays, marked removed: withdrawals refer to it)."""
    _own(ctx, user_id, method_id)
    verify_second_factor(ctx, user_id, code)
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        if repository.method_of(conn, user_id, method_id, lock=True) is None:
            raise NotFound("No such payout method.", id=str(method_id))
        repository.remove_method(conn, method_id, now)
    return RemovedOut(id=str(method_id))


def method_details(ctx: AppContext, row: MethodRow) -> dict[str, Any]:
    """The method's details, decrypted, for the payout provider: ``{"kind": "paypal", "email"}``
    or ``{"kind": "bank", "iban", "holder_name"}``."""
    details = open_details(sealer(ctx), row)
    return {"kind": row.kind, **details}


def open_details(seal: Sealer, row: MethodRow) -> dict[str, Any]:
    opened = seal.open(row.details_encrypted, _seal_context(row.user_id))
    return dict(opened) if isinstance(opened, dict) else {}


def reseal_all(ctx: AppContext) -> int:
    """Re-seal every method's details under the first key of ``GIFTFLOW_SECRETS_KEY``; returns
    how many changed."""
    seal = sealer(ctx)
    changed = 0
    with unit_of_work(ctx.engine) as conn:
        for method_id, _user, token in repository.sealed_details(conn, lock=True):
            if not seal.is_current(token):
                repository.set_details(conn, method_id, seal.reseal(token))
                changed += 1
    return changed
