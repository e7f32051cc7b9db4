"""The chart of accounts: which account paths exist and what each class of account may do.

An account is identified by ``(path, asset)``. Balances follow one sign convention for every
account: balance = credits - debits (what it received minus what it sent). Liability and revenue
accounts (user coins, creator diamonds, revenue) are credit-normal and never go negative; asset and
issuance accounts (cash at a provider, receivables, issued coins and diamonds) are debit-normal and
go negative as value enters the economy. Per asset, the sum over all accounts is always zero.

Hot platform accounts that every batch touches are *sharded*: each writer process posts to its own
shard row so several writers never queue on one row lock; reports sum the shards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from giftflow.errors import InvalidAccount

_SEGMENT = r"[A-Za-z0-9_.\-]{1,64}"


@dataclass(frozen=True, slots=True)
class AccountClass:
    name: str
    pattern: str
    may_go_negative: bool
    sharded: bool
    description: str
    example: str

    def matches(self, path: str) -> re.Match[str] | None:
        return re.fullmatch(self.pattern, path)


def _p(template: str) -> str:
    return template.replace("{id}", f"(?P<owner>{_SEGMENT})").replace("{any}", _SEGMENT)


# Ordered: the first class whose pattern matches the whole path wins.
CHART: tuple[AccountClass, ...] = (
    AccountClass(
        "user",
        _p(r"user:{id}(:[a-z_]+)+"),
        False,
        False,
        "A viewer's spendable balances (coins, bonus coins, exchanged coins).",
        "user:42:coins",
    ),
    AccountClass(
        "creator",
        _p(r"creator:{id}(:[a-z_]+)+"),
        False,
        False,
        "A creator's diamonds: available, in hold, reserved for withdrawals.",
        "creator:7:diamonds",
    ),
    AccountClass(
        "issuance",
        _p(r"platform:(coins|diamonds|[a-z_]+):issued"),
        True,
        True,
        "Where coins and diamonds come from; goes negative by what is in circulation.",
        "platform:coins:issued",
    ),
    AccountClass(
        "cash",
        _p(r"platform:cash:{any}"),
        True,
        True,
        "Money held at a payment provider (debit-normal, negative as money comes in).",
        "platform:cash:stripe",
    ),
    AccountClass(
        "receivable",
        _p(r"platform:receivable:{id}"),
        True,
        False,
        "What a user owes after a chargeback of coins already spent.",
        "platform:receivable:42",
    ),
    AccountClass(
        "revenue",
        _p(r"platform:revenue:{any}"),
        False,
        True,
        "Coins and money the platform earned (gifts, items).",
        "platform:revenue:gifts",
    ),
    AccountClass(
        "fees",
        _p(r"platform:fees:{any}"),
        False,
        True,
        "Fees collected or owed (store fees, cash-out fees).",
        "platform:fees:store",
    ),
    AccountClass(
        "holding",
        _p(r"platform:holding:{any}"),
        False,
        True,
        "Value reserved by pending transfers between request and post/void.",
        "platform:holding:pending",
    ),
    AccountClass(
        "payouts",
        r"payouts:[a-z_]+",
        False,
        False,
        "Money on its way to creators (withdrawals submitted to a provider).",
        "payouts:in_flight",
    ),
    AccountClass(
        "equity",
        _p(r"platform:equity:{any}"),
        True,
        False,
        "Operator grants and corrections (promotions, goodwill, write-offs).",
        "platform:equity:grants",
    ),
    AccountClass(
        "external",
        _p(r"external:{any}(:{any})*"),
        True,
        False,
        "The world outside the books: a counterparty for opening balances and tests.",
        "external:world",
    ),
)

HOLDING_PENDING = "platform:holding:pending"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What the chart says about one path."""

    path: str
    account_class: AccountClass
    owner_id: str | None

    @property
    def may_go_negative(self) -> bool:
        return self.account_class.may_go_negative

    @property
    def sharded(self) -> bool:
        return self.account_class.sharded


@lru_cache(maxsize=65536)  # the writer asks for every posting; paths repeat
def classify(path: str) -> AccountSpec:
    """The class of an account path, or ``InvalidAccount`` if the chart has no such account."""
    if len(path) > 200:
        raise InvalidAccount("Account path is longer than 200 characters.", path=path[:200])
    for cls in CHART:
        m = cls.matches(path)
        if m:
            owner = m.groupdict().get("owner") if cls.name in ("user", "creator") else None
            return AccountSpec(path, cls, owner)
    raise InvalidAccount(f"No account class in the chart matches {path!r}.", path=path)
