"""The chart of accounts: which account paths exist, in which assets, and what each class may do.

An account is identified by ``(path, asset)``. Balances follow one sign convention for every
account: balance = credits - debits (what it received minus what it sent). Liability and revenue
accounts (user coins, creator diamonds, revenue) are credit-normal and never go negative; asset and
issuance accounts (cash at a provider, receivables, issued coins and diamonds) are debit-normal and
go negative as value enters the economy. Per asset, the sum over all accounts is always zero.

Each class lists its paths exactly (a user has ``coins``, ``coins:bonus`` and ``coins:exchanged``,
nothing else) and the assets each path may hold (coins never sit in a diamond account); anything
else is ``invalid_account``. Hot platform accounts that every batch touches are *sharded*: each
writer posts to its own shard row; reports sum the shards. *Mechanism* accounts (the pending
holding account, issuance) are moved only by the ledger's own mechanisms and by features, never by
an operator's transfer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from giftflow.errors import AccountReserved, CoinsNotTransferable, InvalidAccount
from giftflow.ids import USER_ID_CHARS

_NAME = r"[a-z0-9_\-]{1,64}"
FIAT = "fiat"  # stands for every ISO 4217 currency giftflow knows
ANY = "any"  # every asset

HOLDING_PENDING = "platform:holding:pending"


@dataclass(frozen=True, slots=True)
class PathRule:
    """One path template of a class and the assets it may hold (``FIAT``/``ANY`` as shorthands)."""

    template: str
    assets: tuple[str, ...]

    @property
    def regex(self) -> re.Pattern[str]:
        pattern = re.escape(self.template)
        pattern = pattern.replace(re.escape("{id}"), f"(?P<owner>{USER_ID_CHARS})")
        pattern = pattern.replace(re.escape("{name}"), _NAME)
        return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class AccountClass:
    name: str
    rules: tuple[PathRule, ...]
    may_go_negative: bool
    sharded: bool
    mechanism: bool
    owned: bool  # paths name a user id (accounts.owner_id), who must exist
    description: str

    @property
    def example(self) -> str:
        return self.rules[0].template.replace("{id}", "42").replace("{name}", "stripe")


def _rules(*pairs: tuple[str, tuple[str, ...]]) -> tuple[PathRule, ...]:
    return tuple(PathRule(t, a) for t, a in pairs)


COIN_ONLY = ("COIN",)
DIAMOND_ONLY = ("DIAMOND",)

# Ordered: the first rule whose template matches the whole path wins.
CHART: tuple[AccountClass, ...] = (
    AccountClass(
        "user",
        _rules(
            ("user:{id}:coins", COIN_ONLY),
            ("user:{id}:coins:bonus", COIN_ONLY),
            ("user:{id}:coins:exchanged", COIN_ONLY),
        ),
        may_go_negative=False,
        sharded=False,
        mechanism=False,
        owned=True,
        description="A viewer's spendable coins: paid, bonus, and exchanged from diamonds.",
    ),
    AccountClass(
        "creator",
        _rules(
            ("creator:{id}:diamonds", DIAMOND_ONLY),
            ("creator:{id}:diamonds:pending", DIAMOND_ONLY),
        ),
        may_go_negative=False,
        sharded=False,
        mechanism=False,
        owned=True,
        description="A creator's diamonds: available, and in the earnings hold.",
    ),
    AccountClass(
        "issuance",
        _rules(("platform:coins:issued", COIN_ONLY), ("platform:diamonds:issued", DIAMOND_ONLY)),
        may_go_negative=True,
        sharded=True,
        mechanism=True,
        owned=False,
        description="Where coins and diamonds come from; negative by what is in circulation.",
    ),
    AccountClass(
        "cash",
        _rules(("platform:cash:{name}", (FIAT,))),
        may_go_negative=True,
        sharded=True,
        mechanism=False,
        owned=False,
        description="Money held at a payment provider (debit-normal, negative as money comes in).",
    ),
    AccountClass(
        "receivable",
        _rules(("platform:receivable:{id}", ("COIN", FIAT))),
        may_go_negative=True,
        sharded=False,
        mechanism=False,
        owned=False,
        description="What a user owes after a chargeback of coins already spent.",
    ),
    AccountClass(
        "revenue",
        _rules(
            ("platform:revenue:gifts", COIN_ONLY),
            ("platform:revenue:items", COIN_ONLY),
            ("platform:revenue:subscriptions", COIN_ONLY),
            ("platform:revenue:coins", (FIAT,)),
        ),
        may_go_negative=False,
        sharded=True,
        mechanism=False,
        owned=False,
        description="Coins and money the platform earned (gifts, items, coin sales).",
    ),
    AccountClass(
        "fees",
        _rules(("platform:fees:store", (FIAT,)), ("platform:fees:cashout", ("DIAMOND", FIAT))),
        may_go_negative=False,
        sharded=True,
        mechanism=False,
        owned=False,
        description="Fees collected or owed (store fees, cash-out fees).",
    ),
    AccountClass(
        "holding",
        _rules((HOLDING_PENDING, (ANY,))),
        may_go_negative=False,
        sharded=True,
        mechanism=True,
        owned=False,
        description="Value reserved by pending transfers between request and post/void.",
    ),
    AccountClass(
        "payouts",
        _rules(("payouts:in_flight", ("DIAMOND", FIAT))),
        may_go_negative=False,
        sharded=False,
        mechanism=False,
        owned=False,
        description="Money on its way to creators (withdrawals submitted to a provider).",
    ),
    AccountClass(
        "equity",
        _rules(
            ("platform:equity:grants", (ANY,)),
            ("platform:equity:corrections", (ANY,)),
            ("platform:equity:promotions", (ANY,)),
            ("platform:equity:writeoffs", (ANY,)),
            ("platform:equity:payouts", (ANY,)),
        ),
        may_go_negative=True,
        sharded=False,
        mechanism=False,
        owned=False,
        description="Operator grants and corrections (promotions, goodwill, write-offs).",
    ),
    AccountClass(
        "external",
        _rules(("external:{name}", (ANY,)), ("external:{name}:{name}", (ANY,))),
        may_go_negative=True,
        sharded=False,
        mechanism=False,
        owned=False,
        description="The world outside the books: a counterparty for opening balances and tests.",
    ),
)

_COMPILED = tuple((cls, rule, rule.regex) for cls in CHART for rule in cls.rules)


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What the chart says about one path."""

    path: str
    account_class: AccountClass
    rule: PathRule
    owner_id: str | None

    @property
    def may_go_negative(self) -> bool:
        return self.account_class.may_go_negative

    @property
    def sharded(self) -> bool:
        return self.account_class.sharded

    @property
    def mechanism(self) -> bool:
        return self.account_class.mechanism

    def holds(self, asset_code: str, asset_kind: str) -> bool:
        allowed = self.rule.assets
        return ANY in allowed or asset_code in allowed or (FIAT in allowed and asset_kind == "fiat")


@lru_cache(maxsize=65536)  # the writer asks for every posting; paths repeat
def classify(path: str) -> AccountSpec:
    """The class of an account path, or ``InvalidAccount`` if the chart has no such account."""
    if len(path) > 200:
        raise InvalidAccount("Account path is longer than 200 characters.", path=path[:200])
    for cls, rule, regex in _COMPILED:
        m = regex.fullmatch(path)
        if m:
            owner = m.group("owner") if cls.owned else None
            return AccountSpec(path, cls, rule, owner)
    raise InvalidAccount(f"No account in the chart matches {path!r}.", path=path)


@lru_cache(maxsize=65536)
def check_account(path: str, asset_code: str, asset_kind: str) -> AccountSpec:
    """The spec of ``path`` if it may hold ``asset``; ``InvalidAccount`` otherwise."""
    spec = classify(path)
    if not spec.holds(asset_code, asset_kind):
        allowed = ", ".join(spec.rule.assets)
        raise InvalidAccount(
            f"{path} holds {allowed}, not {asset_code}.", path=path, asset=asset_code
        )
    return spec


def check_coin_movement(source: str, destination: str, asset_code: str) -> None:
    """Coins never move from one user to another (policy ``coins_transferable = false``)."""
    if asset_code != "COIN":
        return
    a, b = classify(source), classify(destination)
    if a.owner_id and b.owner_id and a.owner_id != b.owner_id:
        raise CoinsNotTransferable(
            "Coins cannot move between users; corrections go through platform:equity accounts.",
            source=source,
            destination=destination,
        )


def check_not_mechanism(path: str) -> None:
    """Operators' transfers may not name an account that a ledger mechanism owns."""
    spec = classify(path)
    if spec.mechanism:
        raise AccountReserved(
            f"{path} belongs to the {spec.account_class.name} mechanism; it is moved only by "
            "pending transfers and features, never directly.",
            path=path,
        )
