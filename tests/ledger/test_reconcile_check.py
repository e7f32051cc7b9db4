"""``reconcile.check`` on hand-built facts, no database: one test per check, each with the exact
difference it must report, and all differences at once in a stable order."""

from __future__ import annotations

from dataclasses import replace

from giftflow.ledger.reconcile import AccountFact, Difference, Facts, PostingSum, check, report

# A small, consistent ledger: 50 coins granted to user a, who spent 20 on gifts and has 5 held
# by a pending transfer; 300 diamonds issued to creator c.
GRANTS = AccountFact(1, "platform:equity:grants", "COIN", 0, -50, True)
A = AccountFact(2, "user:a:coins", "COIN", 0, 25, False)
GIFTS = AccountFact(3, "platform:revenue:gifts", "COIN", 1, 20, False)
HOLD = AccountFact(4, "platform:holding:pending", "COIN", 1, 5, False)
ISSUED = AccountFact(5, "platform:diamonds:issued", "DIAMOND", 1, -300, True)
C = AccountFact(6, "creator:c:diamonds", "DIAMOND", 0, 300, False)

Found = tuple[str, str, int | str, int | str]


def sums() -> list[PostingSum]:
    return [
        PostingSum(1, "COIN", "debit", 1, 50),
        PostingSum(2, "COIN", "credit", 1, 50),
        PostingSum(2, "COIN", "debit", 2, 25),
        PostingSum(3, "COIN", "credit", 1, 20),
        PostingSum(4, "COIN", "credit", 1, 5),
        PostingSum(5, "DIAMOND", "debit", 1, 300),
        PostingSum(6, "DIAMOND", "credit", 1, 300),
    ]


def clean() -> Facts:
    return Facts(
        accounts=[GRANTS, A, GIFTS, HOLD, ISSUED, C],
        posting_sums=sums(),
        transactions_without_postings=[],
        pending_held={4: 5},
        holding_ids={4},
        transactions=4,
        postings=5,
    )


def found(diffs: list[Difference]) -> list[Found]:
    return [(d.check, d.subject, d.expected, d.actual) for d in diffs]


def with_account(facts: Facts, account: AccountFact) -> Facts:
    """``facts`` with the account of the same id replaced (or ``account`` added)."""
    others = [a for a in facts.accounts if a.id != account.id]
    facts.accounts = [*others, account]
    return facts


def with_sum(facts: Facts, old: PostingSum | None, new: PostingSum | None) -> Facts:
    facts.posting_sums = [s for s in facts.posting_sums if s != old]
    if new is not None:
        facts.posting_sums.append(new)
    return facts


def test_clean_facts_have_no_differences() -> None:
    facts = clean()
    assert check(facts) == []
    r = report(facts)
    assert r.clean and (r.accounts, r.transactions, r.postings) == (6, 4, 5)


def test_stored_balance_differing_from_postings() -> None:
    # user a's credits say 51, its debits 25: postings imply 26, the row stores 25
    facts = with_sum(
        clean(), PostingSum(2, "COIN", "credit", 1, 50), PostingSum(2, "COIN", "credit", 1, 51)
    )
    diffs = check(facts)
    assert found(diffs) == [("balance", "user:a:coins [COIN]", 26, 25)]
    assert diffs[0].message == "stored balance 25 but postings add up to 26"


def test_stored_balance_without_any_postings() -> None:
    # a row with no postings at all must hold 0; and a row whose postings disagree
    facts = with_account(clean(), AccountFact(7, "external:x", "COIN", 0, 10, True))
    facts = with_account(facts, replace(GRANTS, balance=-60))
    assert found(check(facts)) == [
        ("balance", "external:x [COIN]", 0, 10),
        ("balance", "platform:equity:grants [COIN]", -50, -60),
    ]


def test_per_asset_sums_not_zero() -> None:
    # every row agrees with its postings, but a credit with no debit leaves COIN at +10
    facts = with_account(clean(), AccountFact(7, "external:x", "COIN", 0, 10, True))
    facts = with_sum(facts, None, PostingSum(7, "COIN", "credit", 1, 10))
    diffs = check(facts)
    assert found(diffs) == [("zero_sum", "COIN", 0, 10)]
    assert diffs[0].message == "COIN balances sum to 10, not 0"


def test_zero_sum_is_per_asset_not_overall() -> None:
    # COIN +10 and DIAMOND -10 add up to zero overall; each asset is still reported
    facts = with_account(clean(), AccountFact(7, "external:x", "COIN", 0, 10, True))
    facts = with_account(facts, AccountFact(8, "external:y", "DIAMOND", 0, -10, True))
    facts = with_sum(facts, None, PostingSum(7, "COIN", "credit", 1, 10))
    facts = with_sum(facts, None, PostingSum(8, "DIAMOND", "debit", 1, 10))
    assert found(check(facts)) == [("zero_sum", "COIN", 0, 10), ("zero_sum", "DIAMOND", 0, -10)]


def test_user_account_below_zero() -> None:
    # a consistent negative: a spent 55 of its 50 (postings agree with the row), gifts got 50
    facts = with_account(clean(), replace(A, balance=-5))
    facts = with_account(facts, replace(GIFTS, balance=50))
    facts = with_sum(
        facts, PostingSum(2, "COIN", "debit", 2, 25), PostingSum(2, "COIN", "debit", 2, 55)
    )
    facts = with_sum(
        facts, PostingSum(3, "COIN", "credit", 1, 20), PostingSum(3, "COIN", "credit", 1, 50)
    )
    diffs = check(facts)
    assert found(diffs) == [("non_negative", "user:a:coins [COIN]", ">= 0", -5)]
    assert diffs[0].message == "balance below zero"


def test_non_negative_follows_the_chart_not_the_stored_flag() -> None:
    # flipping the stored flag (as the CHECK constraint demands) does not excuse the negative
    facts = with_account(clean(), replace(A, balance=-5, may_go_negative=True))
    facts = with_account(facts, replace(GIFTS, balance=50))
    facts = with_sum(
        facts, PostingSum(2, "COIN", "debit", 2, 25), PostingSum(2, "COIN", "debit", 2, 55)
    )
    facts = with_sum(
        facts, PostingSum(3, "COIN", "credit", 1, 20), PostingSum(3, "COIN", "credit", 1, 50)
    )
    assert found(check(facts)) == [
        ("chart", "user:a:coins [COIN]", "False", "True"),
        ("non_negative", "user:a:coins [COIN]", ">= 0", -5),
    ]


def test_accounts_that_may_go_negative_are_not_reported() -> None:
    facts = clean()
    assert GRANTS.balance < 0 and ISSUED.balance < 0
    assert [d for d in check(facts) if d.check == "non_negative"] == []


def test_path_not_in_the_chart() -> None:
    facts = with_account(clean(), AccountFact(7, "nowhere:x", "COIN", 0, 0, False))
    diffs = check(facts)
    assert found(diffs) == [("chart", "nowhere:x [COIN]", "an account of the chart", "none")]
    assert diffs[0].message == "No account in the chart matches 'nowhere:x'."


def test_path_holding_an_asset_the_chart_forbids() -> None:
    facts = with_account(clean(), AccountFact(7, "user:1:coins", "USD", 0, 0, False))
    diffs = check(facts)
    assert found(diffs) == [("chart", "user:1:coins [USD]", "an account of the chart", "none")]
    assert diffs[0].message == "user:1:coins holds COIN, not USD."


def test_fiat_path_refuses_coins() -> None:
    facts = with_account(clean(), AccountFact(7, "platform:cash:stripe", "COIN", 2, 0, True))
    assert found(check(facts)) == [
        ("chart", "platform:cash:stripe [COIN] shard 2", "an account of the chart", "none")
    ]


def test_unknown_asset_on_an_any_asset_path() -> None:
    facts = with_account(clean(), AccountFact(7, "external:x", "XYZ", 0, 0, True))
    assert [d.check for d in check(facts)] == ["chart"]


def test_wrong_may_go_negative_flag_both_ways() -> None:
    facts = with_account(clean(), replace(GRANTS, may_go_negative=False))
    facts = with_account(facts, replace(C, may_go_negative=True))
    diffs = check(facts)
    assert found(diffs) == [
        ("chart", "creator:c:diamonds [DIAMOND]", "False", "True"),
        ("chart", "platform:equity:grants [COIN]", "True", "False"),
    ]
    assert {d.message for d in diffs} == {"may_go_negative flag differs from the chart of accounts"}


def test_posting_in_another_asset_than_its_account() -> None:
    facts = with_sum(
        clean(), PostingSum(2, "COIN", "credit", 1, 50), PostingSum(2, "DIAMOND", "credit", 1, 50)
    )
    diffs = check(facts)
    # the amount still counts towards the balance: only the asset is reported
    assert found(diffs) == [("posting_asset", "user:a:coins [COIN]", "COIN", "DIAMOND")]
    assert diffs[0].message == "1 credit posting(s) in DIAMOND on a COIN account"


def test_posting_naming_an_unknown_account() -> None:
    facts = with_sum(clean(), None, PostingSum(99, "COIN", "credit", 2, 7))
    diffs = check(facts)
    # the orphan sum counts towards no account, so no balance difference follows from it
    assert found(diffs) == [("posting_account", "account id 99", "an existing account", "missing")]
    assert diffs[0].message == "2 credit posting(s) name an account that does not exist"


def test_transactions_without_postings() -> None:
    facts = clean()
    facts.transactions_without_postings = [17, 42]
    diffs = check(facts)
    assert found(diffs) == [
        ("postings", "transaction 17", ">= 1", 0),
        ("postings", "transaction 42", ">= 1", 0),
    ]
    assert diffs[0].message == "transaction has no postings"


def test_holding_balance_differs_from_its_pending_sum() -> None:
    facts = clean()
    facts.pending_held = {4: 4}
    diffs = check(facts)
    assert found(diffs) == [("holding", "platform:holding:pending [COIN] shard 1 #4", 4, 5)]
    assert diffs[0].message == "holding balance differs from the sum of its pending transfers"


def test_holding_row_with_no_pending_transfers() -> None:
    facts = clean()
    facts.pending_held = {}
    assert found(check(facts)) == [("holding", "platform:holding:pending [COIN] shard 1 #4", 0, 5)]


def test_pending_sum_on_a_hold_id_with_no_row() -> None:
    facts = clean()
    facts.pending_held = {4: 5, 77: 9}
    assert found(check(facts)) == [("holding", "missing account #77", 9, 0)]


def several_problems() -> Facts:
    facts = clean()
    facts = with_account(facts, replace(A, balance=24))  # balance, and COIN sums to -1
    facts = with_account(facts, AccountFact(7, "nowhere:x", "COIN", 0, 0, False))  # chart
    facts = with_account(facts, replace(C, may_go_negative=True))  # chart (flag)
    facts = with_sum(  # posting_asset
        facts, PostingSum(3, "COIN", "credit", 1, 20), PostingSum(3, "USD", "credit", 1, 20)
    )
    facts = with_sum(facts, None, PostingSum(98, "COIN", "debit", 1, 3))  # posting_account
    facts = with_sum(facts, None, PostingSum(99, "COIN", "credit", 1, 3))  # posting_account
    facts.transactions_without_postings = [8, 9]  # postings
    facts.pending_held = {4: 6, 77: 1}  # holding, twice
    return facts


SEVERAL: list[Found] = [
    ("posting_asset", "platform:revenue:gifts [COIN] shard 1", "COIN", "USD"),
    ("posting_account", "account id 98", "an existing account", "missing"),
    ("posting_account", "account id 99", "an existing account", "missing"),
    ("chart", "creator:c:diamonds [DIAMOND]", "False", "True"),
    ("chart", "nowhere:x [COIN]", "an account of the chart", "none"),
    ("balance", "user:a:coins [COIN]", 25, 24),
    ("zero_sum", "COIN", 0, -1),
    ("postings", "transaction 8", ">= 1", 0),
    ("postings", "transaction 9", ">= 1", 0),
    ("holding", "platform:holding:pending [COIN] shard 1 #4", 6, 5),
    ("holding", "missing account #77", 1, 0),
]


def test_every_problem_is_reported_at_once_in_a_stable_order() -> None:
    facts = several_problems()
    assert found(check(facts)) == SEVERAL
    assert found(check(facts)) == SEVERAL  # checking does not consume or change the facts
    r = report(facts)
    assert not r.clean and len(r.differences) == 11


def test_order_does_not_depend_on_the_order_of_account_rows() -> None:
    facts = several_problems()
    facts.accounts.reverse()
    assert found(check(facts)) == SEVERAL


def test_order_does_not_depend_on_the_order_of_posting_sums() -> None:
    # gather reads the posting sums with no ORDER BY: the database may return them in any order
    shuffled = several_problems()
    shuffled.posting_sums.reverse()
    assert found(check(shuffled)) == found(check(several_problems()))
