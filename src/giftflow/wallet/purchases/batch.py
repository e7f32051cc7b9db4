"""The wallet as a command sees it inside one batch, and spending coins.

Purchase rows and wallet counters are read once per batch (locked), kept in the book's memo so
later commands of the same batch see earlier ones, and staged for ``WalletWrites``; a failing
command's memo and rows are undone by the book.

``spend`` is how any feature pays with coins (items now, gifts next): bonus coins first, then
coins exchanged from diamonds, then paid coins, whose lots are consumed oldest first by advancing
one counter (``paid_spent``). A frozen wallet cannot spend; a spending cap is checked against the
day's and week's counters in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from giftflow.copying import copier
from giftflow.errors import AccountFrozen, InsufficientFunds, NotFound
from giftflow.ledger import prefetch
from giftflow.ledger.commands import BatchContext
from giftflow.ledger.model import AccountRef, Posting, StagedTransaction
from giftflow.ledger.prefetch import Read
from giftflow.wallet.purchases.caps import CapRule, Windows, check, windows
from giftflow.wallet.purchases.lots import Shift
from giftflow.wallet.purchases.repository import (
    WALLET,
    PurchaseBatchRepository,
    PurchaseRow,
    WalletState,
    Window,
    apply_shifts,
)

SPENT = "spent"


def coin_accounts(user_id: str) -> tuple[str, str, str]:
    """(bonus, exchanged, paid): the order spending takes them in."""
    return (
        f"user:{user_id}:coins:bonus",
        f"user:{user_id}:coins:exchanged",
        f"user:{user_id}:coins",
    )


def repo(ctx: BatchContext) -> PurchaseBatchRepository:
    return ctx.repository(PurchaseBatchRepository)


# --- wallet counters ---------------------------------------------------------------------------
_WALLETS = ("wallet.announced",)


def announce_wallet(ctx: BatchContext, user_id: str) -> None:
    """From ``account_hints``: this command will read the user's wallet counters; the batch's
    first read locks all announced wallets in one ordered statement."""
    users: set[str] = ctx.book.memo.setdefault(_WALLETS, set())
    users.add(user_id)


_copy_wallet = copier(WalletState)  # the wallet is copied for every gift


def _prefetch_wallets(ctx: BatchContext) -> Iterable[Read]:
    """The announced wallets, created if missing and locked, in the batch's first round trip
    (``ledger.prefetch``), as ``wallet`` reads them."""
    memo = ctx.book.memo
    wanted = prefetch.unread(ctx, _WALLETS, "wallet.state")
    if not wanted:
        return ()

    def into(found: dict[str, WalletState]) -> None:
        for found_id, state in found.items():
            memo[("wallet.state", found_id)] = state  # a read under the lock, as in wallet()

    return PurchaseBatchRepository.wallets_reads(wanted, ctx.now, into)


prefetch.register(20, "wallet.states", _prefetch_wallets)  # after rooms (10), as a gift locks


def wallet(ctx: BatchContext, user_id: str) -> WalletState:
    key = ("wallet.state", user_id)
    cached: WalletState | None = ctx.book.memo.get(key)
    if cached is None:
        announced: set[str] = ctx.book.memo.get(_WALLETS, set())
        wanted = {u for u in announced | {user_id} if ("wallet.state", u) not in ctx.book.memo}
        for found_id, state in repo(ctx).lock_wallets(wanted, ctx.now).items():
            # a read under the lock, not a command's effect: kept if a command rolls back
            ctx.book.memo[("wallet.state", found_id)] = state
        cached = ctx.book.memo[key]
    return _copy_wallet(cached)


def save_wallet(ctx: BatchContext, state: WalletState) -> None:
    _save_own_wallet(ctx, _copy_wallet(state))


def _save_own_wallet(ctx: BatchContext, state: WalletState) -> None:
    """``save_wallet`` of a state no one will change again (the memo and the staged row share
    it; ``wallet()`` hands out copies)."""
    ctx.book.remember(("wallet.state", state.user_id), state)
    ctx.book.stage(WALLET, ("wallet", state))


def _windows(ctx: BatchContext, zone: str) -> Windows:
    """The day and week of the batch's time in ``zone`` (the same for every command)."""
    key = ("wallet.windows", zone)
    found: Windows | None = ctx.book.memo.get(key)
    if found is None:
        found = ctx.book.memo[key] = windows(ctx.now, zone)  # derived, not an effect
    return found


# --- purchase rows -----------------------------------------------------------------------------
def shifts(ctx: BatchContext, user_id: str) -> list[Shift]:
    found: list[Shift] = ctx.book.memo.get(("wallet.shifts", user_id), [])
    return list(found)


def purchase(ctx: BatchContext, purchase_id: int) -> PurchaseRow:
    cached: PurchaseRow | None = ctx.book.memo.get(("wallet.purchase", purchase_id))
    if cached is not None:
        return replace(cached)
    row = repo(ctx).lock_purchase(purchase_id)
    if row is None:
        raise NotFound("No such purchase.", id=str(purchase_id))
    return apply_shifts(row, shifts(ctx, row.user_id))


def save_purchase(ctx: BatchContext, row: PurchaseRow, *, insert: bool = False) -> None:
    row.updated_at = ctx.now
    ctx.book.remember(("wallet.purchase", row.id), replace(row))
    ctx.book.stage(WALLET, ("purchase_insert" if insert else "purchase", replace(row)))


def remove_from_sequence(ctx: BatchContext, user_id: str, after: int, coins: int) -> None:
    """Coins at positions (after, after + coins] left the paid sequence: close the gap."""
    if coins <= 0:
        return
    shift = Shift(after, coins)
    ctx.book.remember(("wallet.shifts", user_id), [*shifts(ctx, user_id), shift])
    ctx.book.stage(WALLET, ("shift", (user_id, shift)))
    for key, value in list(ctx.book.memo.items()):
        mine = isinstance(value, PurchaseRow) and value.user_id == user_id
        if key[0] == "wallet.purchase" and mine:
            ctx.book.remember(key, apply_shifts(value, [shift]))


# --- spending ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SpendCaps:
    rules: list[CapRule]
    timezone: str


def spend_hints(ctx: BatchContext, user_id: str, destination: str) -> Iterable[AccountRef]:
    announce_wallet(ctx, user_id)
    for path in coin_accounts(user_id):
        yield ctx.book.debit_ref(path, "COIN")
    yield ctx.book.key_for(destination, "COIN")


def _window_total(ctx: BatchContext, user_id: str, first: Any, last: Any, counter: str) -> int:
    key = ("wallet.window", user_id, counter, first, last)
    cached: int | None = ctx.book.memo.get(key)
    if cached is None:
        cached = repo(ctx).window_sum(user_id, counter, first, last)
        ctx.book.remember(key, cached)
    return cached


def spend(
    ctx: BatchContext,
    *,
    user_id: str,
    coins: int,
    destination: str,
    kind: str,
    policy_version: str,
    caps: SpendCaps | None = None,
    memo: str | None = None,
    meta: dict[str, Any] | None = None,
    extra: Sequence[Posting] = (),
) -> StagedTransaction:
    """Move ``coins`` from the user's coins to ``destination`` (bonus, exchanged, then paid).

    ``extra`` postings join the same transaction (a gift's diamonds to the creator); their
    accounts are the caller's to announce in its ``account_hints``."""
    state = wallet(ctx, user_id)
    if state.frozen_reason:
        raise AccountFrozen(frozen=state.frozen_reason)
    if caps is not None and caps.rules:
        w = _windows(ctx, caps.timezone)
        today = _window_total(ctx, user_id, w.day, w.day, SPENT)
        week = _window_total(ctx, user_id, w.week_start, w.week_end, SPENT)
        check(caps.rules, w, today=today, this_week=week, adding=coins)
    postings: list[Posting] = []
    left = coins
    paid = 0
    available = 0
    for path in coin_accounts(user_id):
        balance = ctx.book.balance(path, "COIN")
        available += balance
        take = min(balance, left)
        if take:
            postings.append(Posting(path, destination, "COIN", take))
            left -= take
            if path.endswith(":coins"):
                paid = take
    if left:
        raise InsufficientFunds(
            f"user {user_id} holds {available} coins; this needs {coins}.",
            account=f"user:{user_id}:coins",
            asset="COIN",
            available=available,
            required=coins,
        )
    postings.extend(extra)
    txn = ctx.book.post(kind, postings, policy_version=policy_version, memo=memo, meta=meta)
    if paid:
        state.paid_spent += paid
        _save_own_wallet(ctx, state)  # ``state`` is this call's own copy
    if caps is not None:
        w = _windows(ctx, caps.timezone)
        for first, last in ((w.day, w.day), (w.week_start, w.week_end)):
            key = ("wallet.window", user_id, SPENT, first, last)
            counted: int | None = ctx.book.memo.get(key)
            if counted is not None:  # only totals this batch already read need keeping current
                ctx.book.remember(key, counted + coins)
        ctx.book.stage(WALLET, ("window", Window(user_id, SPENT, w.day, coins)))
    return txn
