"""The economy policy: a versioned, validated document holding every number the seeds disagree on.

A policy has an id, a version and an ``effective_from`` time; the active version is the latest
whose ``effective_from`` has passed. Every amount is an integer in its asset's minor unit and every
rate is an exact ratio of integers, so no policy can make a conversion inexact; floats are refused.
Validation reports every problem at once, each prefixed with the field it concerns.
"""

from __future__ import annotations

import json
import tomllib
from bisect import bisect_right
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from giftflow.clock import in_utc
from giftflow.errors import InvalidPolicy, UnknownAsset
from giftflow.money import convert
from giftflow.money.amounts import MAX_AMOUNT
from giftflow.money.assets import get_asset

PROFILES_DIR = Path(__file__).parent / "profiles"
MAX_VERSION = 2**31 - 1  # policy_versions.version is a 32-bit INTEGER on PostgreSQL
MinorUnits = int  # an amount in a fiat currency's minor unit (cents)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _currency(code: str) -> str:
    try:
        asset = get_asset(code)
    except UnknownAsset:
        raise ValueError(f"unknown currency {code!r}") from None
    if asset.kind != "fiat":
        raise ValueError(f"{code} is not a fiat currency")
    return code


class GiftRules(Strict):
    creator_share_percent: int = Field(ge=0, le=100, description="Whole percent of coin value.")
    followers_to_receive: int = Field(ge=0, description="Followers a creator needs for gifts.")
    max_count: int = Field(
        default=100, ge=1, le=10_000, description="Most gifts of one kind in one send."
    )
    combo_window_ms: int = Field(
        default=3000,
        ge=100,
        le=60_000,
        description="Sends of one streakable gift by one viewer this close together are a combo.",
    )


class AgeRules(Strict):
    minimum_to_buy: int = Field(ge=0, le=120)
    minimum_to_send: int = Field(ge=0, le=120)
    minimum_to_receive: int = Field(ge=0, le=120)


class CashoutRules(Strict):
    currency: str
    fiat_minor: int = Field(gt=0, description="Minor units paid per `per_diamond_hundredths`.")
    per_diamond_hundredths: int = Field(gt=0)
    fee_bps: int = Field(ge=0, le=10_000)
    minimum_minor: MinorUnits | None = Field(default=None, ge=0)
    maximum_per_day_minor: MinorUnits | None = Field(default=None, gt=0)
    maximum_per_week_minor: MinorUnits | None = Field(default=None, gt=0)
    hold_days: int = Field(ge=0, le=365)
    kyc_required: bool
    auto_approve_below_minor: MinorUnits | None = Field(
        default=None,
        ge=0,
        description="Withdrawals paying less than this are approved without an admin "
        "(None: every withdrawal waits for an admin).",
    )
    payment_days: int = Field(
        default=3, ge=0, le=60, description="Expected days from approval to payment."
    )
    method_cooling_off_hours: int = Field(
        default=48, ge=0, le=24 * 30, description="A new or changed payout method waits this."
    )

    _check_currency = field_validator("currency")(_currency)

    @model_validator(mode="after")
    def _limits_ordered(self) -> CashoutRules:
        low, day, week = self.minimum_minor, self.maximum_per_day_minor, self.maximum_per_week_minor
        if low is not None and day is not None and low > day:
            raise ValueError("minimum_minor is above maximum_per_day_minor")
        if low is not None and week is not None and low > week:
            raise ValueError("minimum_minor is above maximum_per_week_minor")
        if day is not None and week is not None and day > week:
            raise ValueError("maximum_per_day_minor is above maximum_per_week_minor")
        return self


class ExchangeRules(Strict):
    enabled: bool
    regions: list[str] | None = Field(
        default=None, description="Regions where exchange is offered (None: everywhere)."
    )
    diamond_hundredths: int = Field(gt=0, description="Diamonds (hundredths) per exchange unit.")
    coins: int = Field(gt=0, description="Coins received per exchange unit.")


class CoinPack(Strict):
    coins: int = Field(gt=0)
    price_minor: MinorUnits = Field(gt=0)


class PriceList(Strict):
    """What coins cost in one region (or ``*``) × channel × currency.

    Packs are listed sizes at listed prices; any other amount from ``custom_min_coins`` to
    ``custom_max_coins`` is a custom amount, priced at ``unit_price_minor`` per ``unit_coins``
    rounded up to the minor unit. Every check is a field check, so one document reports the
    problems of every field at once.
    """

    region: str = Field(pattern=r"^([A-Z]{2}|\*)$")
    channel: Literal["app", "web"]
    currency: str
    packs: list[CoinPack] = Field(min_length=1)
    unit_price_minor: MinorUnits = Field(gt=0, description="Custom amounts: price of unit_coins.")
    unit_coins: int = Field(gt=0)
    store_fee_bps: int = Field(default=0, ge=0, le=10_000)
    custom_min_coins: int = Field(default=1, ge=1, description="Smallest custom amount.")
    custom_max_coins: int = Field(
        default=1_000_000, ge=1, le=MAX_AMOUNT, description="Largest custom amount."
    )

    _check_currency = field_validator("currency")(_currency)

    @field_validator("packs")
    @classmethod
    def _packs_unique(cls, packs: list[CoinPack]) -> list[CoinPack]:
        sizes = [p.coins for p in packs]
        if len(set(sizes)) != len(sizes):
            raise ValueError("two packs have the same number of coins")
        return packs

    @field_validator("custom_max_coins")
    @classmethod
    def _custom_bounds(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("custom_min_coins")  # absent when that field is itself invalid
        if low is not None and low > value:
            raise ValueError(f"custom_min_coins ({low}) is above custom_max_coins ({value})")
        price, per = info.data.get("unit_price_minor"), info.data.get("unit_coins")
        rate = (price, per) if isinstance(price, int) and isinstance(per, int) else None
        if rate is not None and convert.price_custom_amount(value, *rate) > MAX_AMOUNT:
            raise ValueError(f"custom_max_coins ({value}) would cost more than {MAX_AMOUNT}")
        return value

    def pack(self, coins: int) -> CoinPack | None:
        """The listed pack of exactly ``coins``, if there is one."""
        return next((p for p in self.packs if p.coins == coins), None)


class SpendingCap(Strict):
    scope: Literal["region", "provider"]
    key: str = Field(min_length=1, max_length=32)
    daily_coins: int | None = Field(default=None, gt=0)
    weekly_coins: int | None = Field(default=None, gt=0)


class Campaign(Strict):
    id: str = Field(min_length=1, max_length=64)
    starts_at: datetime
    ends_at: datetime
    bonus_percent: int = Field(gt=0, le=1000)

    @model_validator(mode="after")
    def _window(self) -> Campaign:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("campaign times need a time zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at is not after starts_at")
        return self

    def running_at(self, when: datetime) -> bool:
        """Whether the campaign runs at ``when``: from ``starts_at`` (included) to ``ends_at``."""
        return self.starts_at <= when < self.ends_at


class GoalRules(Strict):
    max_per_live: int = Field(default=10, ge=1, le=100, description="Goals one live may have.")


class LeaderboardRules(Strict):
    top: int = Field(default=10, ge=1, le=100, description="Entries in a leaderboard snapshot.")
    snapshot_seconds: int = Field(
        default=5, ge=1, le=300, description="A live's `leaderboard` event at most this often."
    )


class BattleRules(Strict):
    default_seconds: int = Field(default=300, ge=10, le=3600, description="A battle's length.")
    max_seconds: int = Field(default=1800, ge=10, le=3600)
    max_sides: int = Field(default=4, ge=2, le=8, description="Lives in one battle.")
    score_every_ms: int = Field(
        default=1000, ge=50, le=10_000, description="`battle_score` events, coalesced."
    )
    max_multiplier: int = Field(default=5, ge=1, le=100)


class SubscriptionRules(Strict):
    enabled: bool = True
    min_price_coins: int = Field(default=10, ge=1)
    max_price_coins: int = Field(default=10_000, ge=1)
    period_days: int = Field(default=30, ge=1, le=366)
    creator_share_percent: int | None = Field(
        default=None, ge=0, le=100, description="None: the gifts' share."
    )

    @model_validator(mode="after")
    def _bounds(self) -> SubscriptionRules:
        if self.min_price_coins > self.max_price_coins:
            raise ValueError("min_price_coins is above max_price_coins")
        return self


class BonusRules(Strict):
    first_purchase_percent: int = Field(default=0, ge=0, le=1000)
    campaigns: list[Campaign] = Field(default_factory=list)


# --- fraud signals: thresholds of the detectors (docs/fraud.md) ------------------------------
# Detectors only raise flags for an operator; nothing here moves money or freezes anyone.
MAX_WINDOW_HOURS = 24 * 90  # the longest look-back a detector may ask for (bounded queries)


class RingRules(Strict):
    """Gifting rings: users gifting each other in a cycle (A→B→A, A→B→C→A)."""

    enabled: bool = True
    max_length: int = Field(
        default=3, ge=2, le=4, description="Longest cycle looked for (2: A→B→A only)."
    )
    min_coins: int = Field(
        default=1000,
        ge=1,
        le=MAX_AMOUNT,
        description="Every edge of the cycle carries at least this many coins in the window.",
    )
    window_hours: int = Field(default=24, ge=1, le=MAX_WINDOW_HOURS)


class NewAccountBurstRules(Strict):
    """Bursts from new accounts: a young account gifting a lot in a short time."""

    enabled: bool = True
    account_age_hours: int = Field(
        default=24, ge=1, le=MAX_WINDOW_HOURS, description="An account this young is new."
    )
    window_minutes: int = Field(default=60, ge=1, le=MAX_WINDOW_HOURS * 60)
    max_coins: int = Field(
        default=5000, ge=1, le=MAX_AMOUNT, description="More coins than this in the window fire."
    )
    max_gifts: int = Field(
        default=200,
        ge=1,
        le=1_000_000,
        description="More gift sends (requests, whatever their count) than this fire.",
    )

    @model_validator(mode="after")
    def _window_within_youth(self) -> NewAccountBurstRules:
        if self.window_minutes > self.account_age_hours * 60:
            raise ValueError(
                f"window_minutes ({self.window_minutes}) is longer than an account stays new "
                f"(account_age_hours = {self.account_age_hours})"
            )
        return self


class RefundAfterGiftingRules(Strict):
    """A refund or chargeback of a purchase soon after its buyer gifted heavily."""

    enabled: bool = True
    within_hours: int = Field(default=48, ge=1, le=MAX_WINDOW_HOURS)
    min_gifted_coins: int = Field(default=1000, ge=1, le=MAX_AMOUNT)


class SharedFingerprintRules(Strict):
    """Many accounts paying with one payment fingerprint (card)."""

    enabled: bool = True
    min_users: int = Field(
        default=3, ge=2, le=1000, description="Distinct users paying with one card that fire."
    )
    window_days: int = Field(default=30, ge=1, le=MAX_WINDOW_HOURS // 24)


class MethodChangeRules(Strict):
    """A withdrawal requested soon after a payout method was added or changed."""

    enabled: bool = True
    within_hours: int = Field(default=72, ge=1, le=MAX_WINDOW_HOURS)


class FraudRules(Strict):
    rings: RingRules = Field(default_factory=RingRules)
    new_account_bursts: NewAccountBurstRules = Field(default_factory=NewAccountBurstRules)
    refund_after_gifting: RefundAfterGiftingRules = Field(default_factory=RefundAfterGiftingRules)
    shared_fingerprint: SharedFingerprintRules = Field(default_factory=SharedFingerprintRules)
    withdrawal_after_method_change: MethodChangeRules = Field(default_factory=MethodChangeRules)


class Policy(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$")
    version: int = Field(ge=1, le=MAX_VERSION)
    effective_from: datetime
    description: str = ""
    timezone: str = "UTC"
    gifts: GiftRules
    age: AgeRules
    cashout: CashoutRules
    exchange: ExchangeRules
    refund_window_days: int = Field(ge=0, le=365)
    coins_expire: bool = False
    coins_transferable: bool = False
    prices: list[PriceList] = Field(min_length=1)
    caps: list[SpendingCap] = Field(default_factory=list)
    bonuses: BonusRules = Field(default_factory=BonusRules)
    goals: GoalRules = Field(default_factory=GoalRules)
    leaderboards: LeaderboardRules = Field(default_factory=LeaderboardRules)
    battles: BattleRules = Field(default_factory=BattleRules)
    subscriptions: SubscriptionRules = Field(default_factory=SubscriptionRules)
    fraud: FraudRules = Field(default_factory=FraudRules)

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("effective_from needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        return in_utc(value)  # refuses one whose UTC time Python cannot hold

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("coins_transferable")
    @classmethod
    def _not_transferable(cls, value: bool) -> bool:
        if value:
            raise ValueError("coins are never transferable between users")
        return value

    @model_validator(mode="after")
    def _unique_price_lists(self) -> Policy:
        seen = set()
        for p in self.prices:
            key = (p.region, p.channel, p.currency)
            if key in seen:
                raise ValueError(f"two price lists for {p.region}/{p.channel}/{p.currency}")
            seen.add(key)
        return self

    @property
    def version_label(self) -> str:
        return f"{self.id}@{self.version}"

    def local_date(self, now: datetime) -> date:
        """The calendar day ``now`` falls on in the policy's time zone (days, weeks, ages)."""
        return now.astimezone(ZoneInfo(self.timezone)).date()

    # --- the arithmetic, at this policy's rates ----------------------------------------------
    def gift_diamonds(self, coins: int) -> int:
        return convert.gift_diamonds(coins, self.gifts.creator_share_percent)

    def cash_out(self, hundredths: int) -> convert.Cashout:
        c = self.cashout
        return convert.cashout(hundredths, c.fiat_minor, c.per_diamond_hundredths, c.fee_bps)

    def exchange_diamonds(self, hundredths: int) -> convert.Exchange:
        return convert.exchange_diamonds(
            hundredths, self.exchange.diamond_hundredths, self.exchange.coins
        )

    def price_list(self, region: str, channel: str, currency: str) -> PriceList | None:
        for wanted in (region, "*"):
            for p in self.prices:
                if (p.region, p.channel, p.currency) == (wanted, channel, currency):
                    return p
        return None

    def price_lists_for(self, region: str, channel: str) -> list[PriceList]:
        """Every list a buyer in ``region`` may use on ``channel``: the region's own lists first,
        then the ``*`` lists, each group in document order (the first one sets the currency a
        buyer sees by default)."""
        regions = (region, "*") if region != "*" else ("*",)
        return [
            p
            for wanted in regions
            for p in self.prices
            if (p.region, p.channel) == (wanted, channel)
        ]

    def price_coins(self, region: str, channel: str, currency: str, coins: int) -> int:
        """A pack's price, or a custom amount at the list's unit rate (rounded up)."""
        plist = self.price_list(region, channel, currency)
        if plist is None:
            raise InvalidPolicy(f"No price list for {region}/{channel}/{currency}.")
        for pack in plist.packs:
            if pack.coins == coins:
                return pack.price_minor
        return convert.price_custom_amount(coins, plist.unit_price_minor, plist.unit_coins)


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(document)"
        message = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {message}")
    return out


def parse_policy(data: dict[str, Any] | str) -> Policy:
    """A policy from a TOML-decoded table or from JSON text; ``InvalidPolicy`` lists problems."""
    try:
        if isinstance(data, str):
            return Policy.model_validate_json(data)
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        raise InvalidPolicy("; ".join(problems), problems=problems) from None


def load_policy(path: Path | str) -> Policy:
    path = Path(path)
    text = path.read_text()
    if path.suffix == ".json":
        return parse_policy(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicy(f"(document): not valid TOML: {exc}") from None
    return parse_policy(data)


def check_policy_file(path: Path | str) -> list[str]:
    """Every problem with a policy file (empty when it is valid)."""
    try:
        load_policy(path)
    except FileNotFoundError:
        return [f"(document): no such file {path}"]
    except InvalidPolicy as exc:
        return list(exc.details.get("problems") or [exc.message])
    except json.JSONDecodeError as exc:
        return [f"(document): not valid JSON: {exc}"]
    return []


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


@lru_cache(maxsize=32)  # shipped files do not change while the process runs; policies are frozen
def load_profile(name: str) -> Policy:
    path = PROFILES_DIR / f"{name}.toml"
    if not path.is_file():
        raise InvalidPolicy(f"No policy profile {name!r}; shipped: {', '.join(list_profiles())}.")
    return load_policy(path)


class PolicyBook:
    """The versions of one policy; ``active_at(t)`` is the latest effective at ``t``."""

    def __init__(self, versions: list[Policy]) -> None:
        if not versions:
            raise InvalidPolicy("A policy book needs at least one version.")
        ids = {v.id for v in versions}
        if len(ids) != 1:
            raise InvalidPolicy(f"A policy book holds one policy id, not {sorted(ids)}.")
        numbers = [v.version for v in versions]
        if len(set(numbers)) != len(numbers):
            raise InvalidPolicy("Two versions share a version number.")
        self.versions = sorted(versions, key=lambda v: v.effective_from)
        if [v.version for v in self.versions] != sorted(numbers):
            raise InvalidPolicy("A later version takes effect before an earlier one.")

    def active_at(self, when: datetime) -> Policy:
        starts = [v.effective_from for v in self.versions]
        index = bisect_right(starts, when) - 1
        if index < 0:
            raise InvalidPolicy(f"No version of {self.versions[0].id} is in effect at {when}.")
        return self.versions[index]
