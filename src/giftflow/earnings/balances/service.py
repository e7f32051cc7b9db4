"""A creator's earnings: the view, the hold release job, clawbacks and monthly statements.

- **Earnings view.** Available (``creator:{c}:diamonds``) and held (``…:pending``) diamonds from
  the ledger's balances, each with its fiat value at the policy in force (``Policy.cash_out``:
  only whole minor units, the rest stays); the hold by release date (``diamond_holds``);
  lifetime totals from the postings by kind (``gift``, ``hold_release``, ``clawback``,
  ``exchange``) and from the withdrawals; the policy's withdrawal limits and what is left of
  them today and this ISO week (gross of every withdrawal but failed ones, by ``local_day``).
- **Release job** (``release_due_holds``): reads candidates, then ``ReleaseHolds`` re-reads and
  releases under the writer's lock (exactly once; see ``commands``).
- **Clawback**: built here, applied by ``ClawBack``.
- **Statements**: one calendar month in the policy's time zone. Every figure is a sum of postings
  of the creator's diamond accounts inside the month, by kind; the closing balance is today's
  balance minus what moved after the month, the opening one the closing minus the month's
  movements, so ``opening + credits - debits = closing`` holds for each account by construction.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.earnings.balances import repository
from giftflow.earnings.balances.commands import (
    CLAWBACK_KIND,
    RELEASE_KIND,
    ClawBack,
    ReleaseHolds,
)
from giftflow.earnings.balances.repository import EARNING_KINDS, Flow
from giftflow.earnings.balances.schemas import (
    ClawbackIn,
    DiamondsOut,
    EarningsOut,
    FiatValueOut,
    LifetimeOut,
    LimitsOut,
    ReleaseOut,
    StatementAccountOut,
    StatementDiamondsOut,
    StatementKindOut,
    StatementLiveOut,
    StatementOut,
    StatementWithdrawalsOut,
)
from giftflow.errors import NotFound, ValidationFailed
from giftflow.http.schemas import AmountOut
from giftflow.money.amounts import amount_view
from giftflow.money.policy import Policy

log = logging.getLogger("giftflow.earnings")

DIAMOND, COIN = "DIAMOND", "COIN"
EXCHANGE_KIND = "exchange"  # written by giftflow.earnings.exchange
RELEASE_BATCH = 500  # creators per release command
RELEASE_ROUNDS = 100  # commands per job run at most (50,000 creators)
ACCOUNTS = ("available", "held")


def _out(asset: str, amount: int) -> AmountOut:
    return AmountOut(**amount_view(asset, amount))


def fiat_value(policy: Policy, hundredths: int) -> FiatValueOut:
    paid = policy.cash_out(max(hundredths, 0))
    currency = policy.cashout.currency
    return FiatValueOut(
        convertible=_out(DIAMOND, paid.debited),
        remainder=_out(DIAMOND, paid.remainder),
        gross=_out(currency, paid.gross_minor),
        fee=_out(currency, paid.fee_minor),
        net=_out(currency, paid.fiat_minor),
    )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


# --- ledger flows by account and kind (pure) ---------------------------------------------------
@dataclass(slots=True)
class Moves:
    """Credits and debits per (account role, kind) inside a span, and each role's net after it."""

    credits: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    debits: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    after: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def credited(self, role: str, *kinds: str) -> int:
        return sum(self.credits.get((role, k), 0) for k in kinds)

    def debited(self, role: str, *kinds: str) -> int:
        return sum(self.debits.get((role, k), 0) for k in kinds)

    def kinds(self, role: str) -> list[str]:
        return sorted({k for r, k in (*self.credits, *self.debits) if r == role})

    def net(self, role: str) -> int:
        total_in = sum(v for (r, _), v in self.credits.items() if r == role)
        return total_in - sum(v for (r, _), v in self.debits.items() if r == role)


def classify(flows: Iterable[Flow], roles: dict[int, str]) -> Moves:
    moves = Moves()
    for f in flows:
        for account_id, sign in ((f.debit_account_id, -1), (f.credit_account_id, 1)):
            role = roles.get(account_id)
            if role is None:
                continue
            if f.after:
                moves.after[role] += sign * f.amount
            elif sign > 0:
                moves.credits[(role, f.kind)] += f.amount
            else:
                moves.debits[(role, f.kind)] += f.amount
    return moves


def _balances(rows: list[tuple[str, str, int]], creator_id: str) -> dict[str, int]:
    paths = {
        f"creator:{creator_id}:diamonds": "available",
        f"creator:{creator_id}:diamonds:pending": "held",
        f"user:{creator_id}:coins:exchanged": "exchanged_coins",
    }
    found = dict.fromkeys(paths.values(), 0)
    for path, _, amount in rows:
        if path in paths:
            found[paths[path]] = amount
    return found


# --- the earnings view -------------------------------------------------------------------------
def earnings(ctx: AppContext, creator_id: str) -> EarningsOut:
    """The creator's earnings now; a user the platform never created is not found (404)."""
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    zone = ZoneInfo(policy.timezone)
    today = now.astimezone(zone).date()
    week = today - timedelta(days=today.weekday())
    currency = policy.cashout.currency
    with repository.snapshot(ctx.engine) as conn:
        if not repository.user_exists(conn, creator_id):
            raise NotFound("No such user.", id=creator_id)
        balance = _balances(repository.balances(conn, owner_id=creator_id), creator_id)
        ids = repository.creator_accounts(conn, creator_id)
        buckets = repository.buckets_of(conn, creator_id)
        moves = classify(repository.flows(conn, ids.roles(), None, None), ids.roles())
        withdrawn = repository.withdrawal_sums(conn, creator_id)
        days = repository.withdrawal_days(
            conn, creator_id, currency, week, week + timedelta(days=6)
        )
    scheduled = sum(h for _, h in buckets)
    return EarningsOut(
        creator_id=creator_id,
        policy_version=policy.version_label,
        currency=currency,
        hold_days=policy.cashout.hold_days,
        available=DiamondsOut(
            diamonds=_out(DIAMOND, balance["available"]),
            value=fiat_value(policy, balance["available"]),
        ),
        held=DiamondsOut(
            diamonds=_out(DIAMOND, balance["held"]), value=fiat_value(policy, balance["held"])
        ),
        releases=[
            ReleaseOut(
                release_on=day.isoformat(),
                releases_at=rfc3339(local_midnight(day, zone)),
                diamonds=_out(DIAMOND, hundredths),
                value=fiat_value(policy, hundredths),
            )
            for day, hundredths in buckets
        ],
        unscheduled=_out(DIAMOND, max(balance["held"] - scheduled, 0)),
        lifetime=LifetimeOut(
            earned=_out(
                DIAMOND,
                moves.credited("available", *EARNING_KINDS)
                + moves.credited("held", *EARNING_KINDS),
            ),
            released=_out(DIAMOND, moves.credited("available", RELEASE_KIND)),
            clawed_back=_out(DIAMOND, moves.debited("held", CLAWBACK_KIND)),
            exchanged=_out(DIAMOND, moves.debited("available", EXCHANGE_KIND)),
            exchanged_coins=_out(COIN, moves.credited("exchanged_coins", EXCHANGE_KIND)),
            withdrawn=_out(DIAMOND, sum(w.diamonds for w in withdrawn)),
            withdrawals=sum(w.count for w in withdrawn),
        ),
        withdrawal_limits=limits(policy, today, week, days),
        as_of=rfc3339(now),
    )


def limits(policy: Policy, today: date, week: date, days: dict[date, int]) -> LimitsOut:
    """The policy's limits and what is left of them (pure): ``days`` is the gross counted per
    local day of the ISO week starting on ``week``."""
    c = policy.cashout
    used_today, used_week = days.get(today, 0), sum(days.values())

    def maybe(amount: int | None) -> AmountOut | None:
        return _out(c.currency, amount) if amount is not None else None

    def left(maximum: int | None, used: int) -> AmountOut | None:
        return maybe(max(maximum - used, 0) if maximum is not None else None)

    return LimitsOut(
        currency=c.currency,
        minimum=maybe(c.minimum_minor),
        maximum_per_day=maybe(c.maximum_per_day_minor),
        maximum_per_week=maybe(c.maximum_per_week_minor),
        day=today.isoformat(),
        week_starts_on=week.isoformat(),
        used_today=_out(c.currency, used_today),
        used_this_week=_out(c.currency, used_week),
        left_today=left(c.maximum_per_day_minor, used_today),
        left_this_week=left(c.maximum_per_week_minor, used_week),
    )


# --- the release job and clawbacks -------------------------------------------------------------
def _due(ctx: AppContext, today: date) -> list[str]:
    with ctx.engine.connect() as conn:
        return repository.due_creators(conn, today, RELEASE_BATCH)


async def release_due_holds(ctx: AppContext) -> int:
    """Release every hold bucket due today or earlier (the policy's time zone, the policy in
    force now); returns how many buckets were emptied. Safe to run at any time, as often as
    wanted, from any number of processes: each bucket is released exactly once."""
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    today = policy.local_date(now)
    emptied = 0
    for _ in range(RELEASE_ROUNDS):
        creators = await asyncio.to_thread(_due, ctx, today)
        if not creators:
            break
        outcome = await ctx.submit(
            ReleaseHolds(today, creators, policy_version=policy.version_label)
        )
        if not outcome.ok:
            log.warning("releasing held diamonds failed: %s", outcome.body)
            break
        emptied += int(outcome.body["buckets"])
        if len(creators) < RELEASE_BATCH:
            break
    return emptied


def clawback_command(ctx: AppContext, creator_id: str, body: ClawbackIn) -> ClawBack:
    policy = ctx.policies.in_force(ctx.clock.now())
    return ClawBack(creator_id, body.diamonds, body.reason, policy_version=policy.version_label)


# --- statements --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Period:
    label: str
    first: date
    last: date
    start: datetime
    end: datetime


def period_of(label: str, timezone: str) -> Period:
    """``YYYY-MM`` as local days and the UTC instants where the month begins and ends."""
    try:
        year, month = int(label[:4]), int(label[5:7])
        first = date(year, month, 1)
        after = date(year + (month == 12), month % 12 + 1, 1)
        zone = ZoneInfo(timezone)
        start, end = local_midnight(first, zone), local_midnight(after, zone)
    except (ValueError, OverflowError):
        raise ValidationFailed(
            f"No month {label!r} giftflow can report on.", period=label
        ) from None
    return Period(label, first, after - timedelta(days=1), start, end)


def statement(ctx: AppContext, creator_id: str, label: str) -> StatementOut:
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    span = period_of(label, policy.timezone)
    with repository.snapshot(ctx.engine) as conn:
        if not repository.user_exists(conn, creator_id):
            raise NotFound("No such user.", id=creator_id)
        balance = _balances(repository.balances(conn, owner_id=creator_id), creator_id)
        ids = repository.creator_accounts(conn, creator_id)
        moves = classify(repository.flows(conn, ids.roles(), span.start, span.end), ids.roles())
        diamond_ids = [i for i in (ids.available, ids.held) if i is not None]
        by_live = repository.gifts_by_live(conn, diamond_ids, span.start, span.end)
        titles = repository.live_titles(
            conn, [int(g.live_id) for g in by_live if g.live_id and g.live_id.isdigit()]
        )
        withdrawn = repository.withdrawal_sums(conn, creator_id, span.first, span.last)
    accounts = []
    for role in ACCOUNTS:
        closing = balance[role] - moves.after.get(role, 0)
        credits = sum(moves.credited(role, k) for k in moves.kinds(role))
        debits = sum(moves.debited(role, k) for k in moves.kinds(role))
        accounts.append(
            StatementAccountOut(
                account=role,
                opening=_out(DIAMOND, closing - moves.net(role)),
                credits=_out(DIAMOND, credits),
                debits=_out(DIAMOND, debits),
                closing=_out(DIAMOND, closing),
            )
        )
    lives = []
    for g in sorted(by_live, key=lambda g: (g.live_id is None, _live_order(g.live_id))):
        title, started = titles.get(_live_order(g.live_id), (None, None))
        lives.append(
            StatementLiveOut(
                live_id=g.live_id,
                title=title,
                started_at=rfc3339(started) if started is not None else None,
                sends=g.sends,
                gifts=g.gifts,
                coins=_out(COIN, g.coins),
                diamonds=_out(DIAMOND, g.diamonds),
            )
        )
    return StatementOut(
        creator_id=creator_id,
        period=span.label,
        timezone=policy.timezone,
        starts_at=rfc3339(span.start),
        ends_at=rfc3339(span.end),
        as_of=rfc3339(min(span.end, now)),
        diamonds=StatementDiamondsOut(
            earned=_out(
                DIAMOND,
                moves.credited("available", *EARNING_KINDS)
                + moves.credited("held", *EARNING_KINDS),
            ),
            held=_out(DIAMOND, moves.credited("held", *EARNING_KINDS)),
            released=_out(DIAMOND, moves.credited("available", RELEASE_KIND)),
            clawed_back=_out(DIAMOND, moves.debited("held", CLAWBACK_KIND)),
            exchanged=_out(DIAMOND, moves.debited("available", EXCHANGE_KIND)),
            exchanged_coins=_out(COIN, moves.credited("exchanged_coins", EXCHANGE_KIND)),
            withdrawn=_out(DIAMOND, sum(w.diamonds for w in withdrawn)),
        ),
        accounts=accounts,
        movements=[
            StatementKindOut(
                account=role,
                kind=kind,
                credits=_out(DIAMOND, moves.credited(role, kind)),
                debits=_out(DIAMOND, moves.debited(role, kind)),
            )
            for role in ACCOUNTS
            for kind in moves.kinds(role)
        ],
        withdrawals=[
            StatementWithdrawalsOut(
                currency=w.currency,
                count=w.count,
                diamonds=_out(DIAMOND, w.diamonds),
                gross=_out(w.currency, w.gross_minor),
                fees=_out(w.currency, w.fee_minor),
                net=_out(w.currency, w.net_minor),
            )
            for w in withdrawn
        ],
        lives=lives,
    )


def _live_order(live_id: str | None) -> int:
    return int(live_id) if live_id and live_id.isdigit() else 0


CSV_COLUMNS = (
    "section",
    "name",
    "account",
    "kind",
    "live_id",
    "live_title",
    "asset",
    "amount",
    "display",
)


def _safe(text: str | None) -> str:
    """A cell a spreadsheet will not run as a formula (live titles are the creator's text)."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text or ""


def statement_csv(out: StatementOut) -> str:
    """One long table: a row per figure (``section``, ``name``), amounts in minor units with
    their asset and display string; counts have no asset."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()

    def row(section: str, name: str, amount: AmountOut | int, **cells: str) -> None:
        money = (
            {"asset": amount.asset, "amount": amount.amount, "display": amount.display}
            if isinstance(amount, AmountOut)
            else {"amount": amount, "display": str(amount)}
        )
        writer.writerow({"section": section, "name": name, **cells, **money})

    for name, value in out.diamonds:
        row("diamonds", name, value)
    for a in out.accounts:
        for name in ("opening", "credits", "debits", "closing"):
            row("account", name, getattr(a, name), account=a.account)
    for m in out.movements:
        row("movement", "credits", m.credits, account=m.account, kind=m.kind)
        row("movement", "debits", m.debits, account=m.account, kind=m.kind)
    for w in out.withdrawals:
        row("withdrawals", "count", w.count)
        for name in ("diamonds", "gross", "fees", "net"):
            row("withdrawals", name, getattr(w, name))
    for live in out.lives:
        cells = {"live_id": live.live_id or "", "live_title": _safe(live.title)}
        row("live", "sends", live.sends, **cells)
        row("live", "gifts", live.gifts, **cells)
        row("live", "coins", live.coins, **cells)
        row("live", "diamonds", live.diamonds, **cells)
    return buffer.getvalue()
