"""Reconcile: every difference between the ledger's stored state and what its postings imply.

Written the way beancount checks a ledger: ``reconcile_repository.gather`` reads aggregated
*facts* in one consistent snapshot, and ``check(facts)`` is a pure function that returns every
difference at once (an empty list means clean). The checks:

- ``balance``: each account row's stored balance equals credits − debits of its postings;
- ``zero_sum``: per asset, the balances of all accounts sum to zero;
- ``non_negative``: no account of a class that may not go negative is below zero;
- ``chart``: each row's path is in the chart, may hold its asset, and its stored class flag
  (``may_go_negative``) agrees with the chart;
- ``posting_asset``: every posting moves the asset of the accounts it names;
- ``posting_account``: every posting names account rows that exist;
- ``postings``: every transaction has at least one posting;
- ``holding``: each holding account row holds exactly the pending transfers reserved in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from giftflow.errors import GiftflowError
from giftflow.ledger.accounts import check_account
from giftflow.money.assets import ASSETS


@dataclass(frozen=True, slots=True)
class AccountFact:
    id: int
    path: str
    asset: str
    shard: int
    balance: int
    may_go_negative: bool

    @property
    def name(self) -> str:
        return f"{self.path} [{self.asset}]" + (f" shard {self.shard}" if self.shard else "")


@dataclass(frozen=True, slots=True)
class PostingSum:
    """Postings of one asset on one side of one account id: their count and exact total."""

    account_id: int
    asset: str
    side: str  # "credit" or "debit"
    count: int
    total: int


@dataclass(slots=True)
class Facts:
    accounts: list[AccountFact] = field(default_factory=list)
    posting_sums: list[PostingSum] = field(default_factory=list)
    transactions_without_postings: list[int] = field(default_factory=list)
    pending_held: dict[int, int] = field(default_factory=dict)  # hold account id → pending sum
    holding_ids: set[int] = field(default_factory=set)  # rows of the holding class
    transactions: int = 0
    postings: int = 0


@dataclass(frozen=True, slots=True)
class Difference:
    check: str
    subject: str
    expected: int | str
    actual: int | str
    message: str


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    accounts: int
    transactions: int
    postings: int
    differences: list[Difference]

    @property
    def clean(self) -> bool:
        return not self.differences


def check(facts: Facts) -> list[Difference]:
    """Every difference the facts show, in a stable order."""
    by_id = {a.id: a for a in facts.accounts}
    derived: dict[int, int] = dict.fromkeys(by_id, 0)
    diffs: list[Difference] = []
    for s in sorted(facts.posting_sums, key=lambda s: (s.account_id, s.asset, s.side)):
        account = by_id.get(s.account_id)
        if account is None:
            diffs.append(
                Difference(
                    "posting_account",
                    f"account id {s.account_id}",
                    "an existing account",
                    "missing",
                    f"{s.count} {s.side} posting(s) name an account that does not exist",
                )
            )
            continue
        if s.asset != account.asset:
            diffs.append(
                Difference(
                    "posting_asset",
                    account.name,
                    account.asset,
                    s.asset,
                    f"{s.count} {s.side} posting(s) in {s.asset} on a {account.asset} account",
                )
            )
        derived[account.id] += s.total if s.side == "credit" else -s.total
    sums: dict[str, int] = {}
    for a in sorted(facts.accounts, key=lambda a: (a.path, a.asset, a.shard)):
        sums[a.asset] = sums.get(a.asset, 0) + a.balance
        if a.balance != derived[a.id]:
            diffs.append(
                Difference(
                    "balance",
                    a.name,
                    derived[a.id],
                    a.balance,
                    f"stored balance {a.balance} but postings add up to {derived[a.id]}",
                )
            )
        diffs.extend(_chart(a))
    for asset, total in sorted(sums.items()):
        if total != 0:
            diffs.append(
                Difference("zero_sum", asset, 0, total, f"{asset} balances sum to {total}, not 0")
            )
    diffs.extend(
        Difference("postings", f"transaction {t}", ">= 1", 0, "transaction has no postings")
        for t in facts.transactions_without_postings
    )
    for account_id in sorted(facts.holding_ids | set(facts.pending_held)):
        row = by_id.get(account_id)
        expected = facts.pending_held.get(account_id, 0)
        actual = row.balance if row is not None else 0
        if actual != expected:
            diffs.append(
                Difference(
                    "holding",
                    f"{row.name if row else 'missing account'} #{account_id}",
                    expected,
                    actual,
                    "holding balance differs from the sum of its pending transfers",
                )
            )
    return diffs


def _chart(a: AccountFact) -> list[Difference]:
    unit = ASSETS.get(a.asset)
    if unit is None:
        return [
            Difference("chart", a.name, "a known asset", a.asset, "asset giftflow does not know")
        ]
    try:
        spec = check_account(a.path, a.asset, unit.kind)
    except GiftflowError as exc:
        return [Difference("chart", a.name, "an account of the chart", "none", exc.message)]
    out = []
    if a.may_go_negative != spec.may_go_negative:
        out.append(
            Difference(
                "chart",
                a.name,
                str(spec.may_go_negative),
                str(a.may_go_negative),
                "may_go_negative flag differs from the chart of accounts",
            )
        )
    if not spec.may_go_negative and a.balance < 0:
        out.append(Difference("non_negative", a.name, ">= 0", a.balance, "balance below zero"))
    return out


def report(facts: Facts) -> ReconcileReport:
    return ReconcileReport(len(facts.accounts), facts.transactions, facts.postings, check(facts))
