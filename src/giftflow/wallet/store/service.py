"""The coin store's rules: which price list a buyer gets, what coins cost, what bonus they earn.

The quoting half is pure (a policy and plain values in, a ``Quote`` out; no clock, no database)
so that the purchases service prices a purchase with exactly the arithmetic the store showed:

- price list: the buyer region's own list for the channel and currency, else the ``*`` list
  (``Policy.price_list``); none → ``no_price_list`` (422);
- a pack is sold only in its listed size (``unknown_pack``, 422); a custom amount from the list's
  ``custom_min_coins`` to ``custom_max_coins`` (else ``invalid_amount``, 422) costs the list's unit
  rate rounded *up* to the minor unit (833 coins at 84 ¢ per 70 = 1,000 ¢);
- the app store's fee is the list's basis points of the price, rounded down (``apply_fee``);
- bonus coins: ``first_purchase_percent`` of the coins on a buyer's first purchase, plus each
  campaign running at ``now`` (``starts_at ≤ now < ends_at``) its ``bonus_percent``; each part is
  rounded down on its own, in integers.

The other half answers the store's routes: whose region and first purchase, read through the
repository, and the policy in force at the clock's ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from giftflow.context import AppContext
from giftflow.errors import InvalidAmount, NoPriceList, NotFound, UnknownPack
from giftflow.http.schemas import AmountOut
from giftflow.money import convert
from giftflow.money.amounts import amount_view
from giftflow.money.policy import Policy, PriceList
from giftflow.wallet.store import repository
from giftflow.wallet.store.schemas import CoinPacksOut, CustomAmountOut, PackOut, QuoteOut

ANY_REGION = "*"
FIRST_PURCHASE = "first_purchase"


@dataclass(frozen=True, slots=True)
class Quote:
    """What a purchase of ``coins`` costs and earns, under one policy version."""

    region: str  # the buyer's region as asked (the list used may be the ``*`` one)
    channel: str
    currency: str
    coins: int  # paid coins bought
    bonus_coins: int  # bonus this purchase would earn (first purchase + running campaigns)
    price_minor: int  # what the buyer pays, in the currency's minor unit
    store_fee_minor: int  # the app store's fee (app channel), rounded down (convert.apply_fee)
    pack: bool  # a listed pack (True) or a custom amount (False)
    policy_version: str  # policy.version_label
    bonus_reasons: tuple[str, ...]  # e.g. ("first_purchase", "campaign:launch-week")


# --- pure quoting ----------------------------------------------------------------------------
def find_price_list(policy: Policy, region: str, channel: str, currency: str) -> PriceList:
    """The region's own list for the channel and currency, else the ``*`` one."""
    plist = policy.price_list(region, channel, currency)
    if plist is None:
        raise NoPriceList(
            f"No price list for {region}/{channel}/{currency}.",
            region=region,
            channel=channel,
            currency=currency,
        )
    return plist


def default_currency(policy: Policy, region: str, channel: str) -> str:
    """The currency of the first list for the region and channel (its own first, then ``*``)."""
    lists = policy.price_lists_for(region, channel)
    if not lists:
        raise NoPriceList(
            f"No price list for {region}/{channel} in any currency.",
            region=region,
            channel=channel,
        )
    return lists[0].currency


def bonus(
    policy: Policy, coins: int, *, first_purchase: bool, now: datetime
) -> tuple[int, tuple[str, ...]]:
    """Bonus coins for buying ``coins`` and the reasons that earned any (each part rounded down)."""
    rules = policy.bonuses
    parts: list[tuple[str, int]] = []
    if first_purchase:
        parts.append((FIRST_PURCHASE, coins * rules.first_purchase_percent // 100))
    for campaign in rules.campaigns:
        if campaign.running_at(now):
            parts.append((f"campaign:{campaign.id}", coins * campaign.bonus_percent // 100))
    earned = [(reason, amount) for reason, amount in parts if amount > 0]
    return sum(amount for _, amount in earned), tuple(reason for reason, _ in earned)


def _check_custom(plist: PriceList, coins: int) -> None:
    low, high = plist.custom_min_coins, plist.custom_max_coins
    if not low <= coins <= high:
        raise InvalidAmount(
            f"A custom amount is {low} to {high} coins in this price list; {coins} is not.",
            coins=coins,
            custom_min_coins=low,
            custom_max_coins=high,
        )


def _quote(
    policy: Policy,
    plist: PriceList,
    *,
    region: str,
    coins: int,
    custom: bool,
    first_purchase: bool,
    now: datetime,
) -> Quote:
    if custom:
        _check_custom(plist, coins)
        price = convert.price_custom_amount(coins, plist.unit_price_minor, plist.unit_coins)
    else:
        pack = plist.pack(coins)
        if pack is None:
            raise UnknownPack(
                f"No pack of {coins} coins is sold; send it as a custom amount.",
                coins=coins,
                packs=[p.coins for p in plist.packs],
            )
        price = pack.price_minor
    fee, _net = convert.apply_fee(price, plist.store_fee_bps)
    bonus_coins, reasons = bonus(policy, coins, first_purchase=first_purchase, now=now)
    return Quote(
        region=region,
        channel=plist.channel,
        currency=plist.currency,
        coins=coins,
        bonus_coins=bonus_coins,
        price_minor=price,
        store_fee_minor=fee,
        pack=not custom,
        policy_version=policy.version_label,
        bonus_reasons=reasons,
    )


def quote(
    policy: Policy,
    *,
    region: str,
    channel: str,
    currency: str,
    coins: int,
    custom: bool,
    first_purchase: bool,
    now: datetime,
) -> Quote:
    """The price, store fee and bonus of buying ``coins`` (the pack of that size, or a custom
    amount when ``custom``) in ``region`` on ``channel`` in ``currency``, at ``now``."""
    if type(coins) is not int or coins <= 0:
        raise InvalidAmount("coins must be a positive integer.", coins=str(coins))
    plist = find_price_list(policy, region, channel, currency)
    return _quote(
        policy,
        plist,
        region=region,
        coins=coins,
        custom=custom,
        first_purchase=first_purchase,
        now=now,
    )


def pack_quotes(
    policy: Policy,
    *,
    region: str,
    channel: str,
    currency: str,
    first_purchase: bool,
    now: datetime,
) -> list[Quote]:
    """Every pack of the price list, in its listed order, each with its price, fee and bonus."""
    plist = find_price_list(policy, region, channel, currency)
    return [
        _quote(
            policy,
            plist,
            region=region,
            coins=pack.coins,
            custom=False,
            first_purchase=first_purchase,
            now=now,
        )
        for pack in plist.packs
    ]


# --- the store's answers ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Buyer:
    """Who the store prices for: a region, and whether their next purchase is their first."""

    region: str
    first_purchase: bool


def buyer(ctx: AppContext, user_id: str | None, region: str | None) -> Buyer:
    """The buyer's region (``region`` if the caller chose one, else the user's profile, else
    ``*``) and first-purchase status (only a known user can have one; 404 for an unknown user)."""
    if user_id is None:
        return Buyer(region or ANY_REGION, first_purchase=False)
    with ctx.engine.connect() as conn:
        found = repository.store_user(conn, user_id)
    if found is None:
        raise NotFound("No such user.", id=user_id)
    return Buyer(region or found.region or ANY_REGION, first_purchase=not found.has_purchased)


def _money(currency: str, amount: int) -> AmountOut:
    return AmountOut(**amount_view(currency, amount))


def _pack_out(q: Quote) -> PackOut:
    return PackOut(
        coins=q.coins,
        price=_money(q.currency, q.price_minor),
        bonus_coins=q.bonus_coins,
        bonus_reasons=list(q.bonus_reasons),
        store_fee=_money(q.currency, q.store_fee_minor),
    )


def coin_packs(ctx: AppContext, who: Buyer, channel: str, currency: str | None) -> CoinPacksOut:
    """The store front: the price list's packs with their bonuses, and the custom-amount rule."""
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    currency = currency or default_currency(policy, who.region, channel)
    plist = find_price_list(policy, who.region, channel, currency)
    packs = pack_quotes(
        policy,
        region=who.region,
        channel=channel,
        currency=currency,
        first_purchase=who.first_purchase,
        now=now,
    )
    return CoinPacksOut(
        region=who.region,
        price_list_region=plist.region,
        channel=channel,
        currency=currency,
        policy_version=policy.version_label,
        first_purchase=who.first_purchase,
        packs=[_pack_out(q) for q in packs],
        custom=CustomAmountOut(
            unit_price=_money(currency, plist.unit_price_minor),
            unit_coins=plist.unit_coins,
            min_coins=plist.custom_min_coins,
            max_coins=plist.custom_max_coins,
        ),
    )


def custom_quote(
    ctx: AppContext, who: Buyer, channel: str, currency: str | None, coins: int
) -> QuoteOut:
    """What a custom amount of ``coins`` would cost and earn now, before any payment."""
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    currency = currency or default_currency(policy, who.region, channel)
    q = quote(
        policy,
        region=who.region,
        channel=channel,
        currency=currency,
        coins=coins,
        custom=True,
        first_purchase=who.first_purchase,
        now=now,
    )
    return QuoteOut(
        region=q.region,
        channel=q.channel,
        currency=q.currency,
        policy_version=q.policy_version,
        first_purchase=who.first_purchase,
        coins=q.coins,
        pack=q.pack,
        price=_money(q.currency, q.price_minor),
        store_fee=_money(q.currency, q.store_fee_minor),
        bonus_coins=q.bonus_coins,
        bonus_reasons=list(q.bonus_reasons),
    )
