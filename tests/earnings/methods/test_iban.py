"""IBAN checks: real-format examples pass, typos and wrong lengths do not."""

from __future__ import annotations

import pytest

from giftflow.earnings.methods.iban import LENGTHS, InvalidIban, grouped, is_valid, mask, normalise

VALID = [
    ("DE89 3704 0044 0532 0130 00", "DE89 **** **** **** **30 00"),
    ("GB82 WEST 1234 5698 7654 32", "GB82 **** **** **** **54 32"),
    ("FR14 2004 1010 0505 0001 3M02 606", "FR14 **** **** **** **** ***2 606"),
    ("NL91 ABNA 0417 1643 00", "NL91 **** **** **43 00"),
    ("BE68 5390 0754 7034", "BE68 **** **** 7034"),
    ("NO93 8601 1117 947", "NO93 **** ***7 947"),
    ("CH93 0076 2011 6238 5295 7", "CH93 **** **** **** *295 7"),
    ("ES91 2100 0418 4502 0005 1332", "ES91 **** **** **** **** 1332"),
    ("IT60 X054 2811 1010 0000 0123 456", "IT60 **** **** **** **** ***3 456"),
    ("MT84 MALT 0110 0001 2345 MTLC AST0 01S", "MT84 **** **** **** **** **** ***0 01S"),
    ("LC55 HEMM 0001 0001 0012 0012 0002 3015", "LC55 **** **** **** **** **** **** 3015"),
]


@pytest.mark.parametrize(("text", "masked"), VALID)
def test_real_format_examples(text: str, masked: str) -> None:
    iban = normalise(text)
    assert iban == text.replace(" ", "")
    assert grouped(iban) == text
    assert mask(iban) == masked
    assert len(iban) == LENGTHS[iban[:2]]


def test_spaces_and_case_are_ignored() -> None:
    assert normalise("  de89370400440532013000 ") == "DE89370400440532013000"
    assert normalise("gb82 west\t1234 5698 7654 32") == "GB82WEST12345698765432"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("DE89 3704 0044 0532 0130 01", "check digits"),  # a typo in the last digit
        ("DE98 3704 0044 0532 0130 00", "check digits"),  # swapped check digits
        ("GB82 WEST 1234 5698 7654 23", "check digits"),  # two digits swapped
        ("DE89 3704 0044 0532 0130 0", "has 22 characters, not 21"),
        ("DE89 3704 0044 0532 0130 000", "has 22 characters, not 23"),
        ("XX89 3704 0044 0532 0130 00", "no IBAN format"),
        ("US12 3456 7890 1234", "no IBAN format"),
        ("", "not an IBAN"),
        ("DE", "not an IBAN"),
        ("DEAB 3704 0044 0532 0130 00", "not an IBAN"),
        ("DE89-3704-0044-0532-0130-00", "not an IBAN"),
        ("DE89 3704 0044 0532 0130 0Ä", "not an IBAN"),
    ],
)
def test_refusals(text: str, why: str) -> None:
    with pytest.raises(InvalidIban, match=why):
        normalise(text)
    assert not is_valid(text)


def test_every_single_character_typo_is_caught() -> None:
    """mod-97 catches every substitution of one character (and every swap of two adjacent)."""
    iban = "DE89370400440532013000"
    for i in range(4, len(iban)):
        for char in "0123456789":
            if char != iban[i]:
                assert not is_valid(iban[:i] + char + iban[i + 1 :])
    for i in range(4, len(iban) - 1):
        if iban[i] != iban[i + 1]:
            assert not is_valid(iban[:i] + iban[i + 1] + iban[i] + iban[i + 2 :])
