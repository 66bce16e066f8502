"""The amount validation matrix: currencies, locales and nasty inputs, each with a message naming the rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.words import english
from web.payments.amounts import (
    AmountError,
    card_payable_due,
    decimal_and_group,
    format_for_input,
    parse_amount,
    parse_received_amount,
    rules_for,
)

LOCALES = ["en", "de_DE", "fr_FR", "ja_JP", "ar_KW", "is_IS", "de_CH", "en_IN"]

DUE = {"EUR": 100_000, "USD": 100_000, "GBP": 100_000, "JPY": 100_000, "KWD": 1_000_000, "ISK": 10_000_000}


@pytest.mark.parametrize(
    ("currency", "locale", "text", "minor"),
    [
        ("EUR", "en", "12.50", 1250),
        ("EUR", "de_DE", "12,50", 1250),
        ("EUR", "de_DE", "1.000", 100000),
        ("EUR", "de_DE", "1.000,00", 100000),
        ("USD", "en_US", "1,000.00", 100000),
        ("USD", "en_US", " 7 ", 700),
        ("GBP", "en_GB", "0.30", 30),
        ("JPY", "ja_JP", "5000", 5000),
        ("JPY", "ja_JP", "5,000", 5000),
        ("KWD", "en", "12.340", 12340),
        ("KWD", "en", "12.3", 12300),
        ("ISK", "is_IS", "1.500", 150000),
        ("ISK", "en", "1500", 150000),
        ("EUR", "fr_FR", "1 000,00", 100000),
    ],
)
def test_amounts_accepted(currency: str, locale: str, text: str, minor: int) -> None:
    assert parse_amount(text, rules_for(currency, DUE[currency]), locale) == minor


@pytest.mark.parametrize(
    ("currency", "locale", "text", "message"),
    [
        ("EUR", "en", "", "Enter the amount"),
        ("EUR", "en", "   ", "Enter the amount"),
        ("EUR", "en", "1e3", "digits only"),
        ("EUR", "en", "NaN", "digits only"),
        ("EUR", "en", "Infinity", "digits only"),
        ("EUR", "en", "-5", "positive"),
        ("EUR", "en", "0", "greater than zero"),
        ("EUR", "en", "0.00", "greater than zero"),
        ("EUR", "en", "١٢", "digits only"),
        ("EUR", "en", "１２", "digits only"),
        ("EUR", "en", "1,00.00", "wrong place"),
        ("EUR", "en", "10,00", "wrong place"),
        ("EUR", "de_DE", "12.50", "wrong place"),
        ("EUR", "en", "1.2.3", "not a number"),
        ("EUR", "en", "12.", "Add the decimals"),
        ("EUR", "en", "12.345", "at most 2 decimals"),
        ("EUR", "en", "9" * 40, "too long"),
        ("EUR", "en", "<script>1</script>", "digits only"),
        ("EUR", "en", "0.49", "smallest card payment in EUR is €0.50"),
        ("EUR", "en", "1000.01", "at most €1,000.00"),
        ("USD", "en", "$10", "digits only"),
        ("GBP", "en_GB", "0.29", "£0.30"),
        ("JPY", "ja_JP", "49", "smallest card payment in JPY"),
        ("JPY", "en", "100.5", "JPY amounts have no decimals"),
        ("KWD", "en", "12.345", "must end in 0"),
        ("KWD", "en", "12.3456", "at most 3 decimals"),
        ("ISK", "en", "1500.50", "ISK amounts have no decimals"),
    ],
)
def test_amounts_refused_with_named_rule(currency: str, locale: str, text: str, message: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(text, rules_for(currency, DUE[currency]), locale)
    assert message in english(refused.value.message, locale)


def test_amounts_above_stripe_maximum() -> None:
    with pytest.raises(AmountError, match="at most"):
        parse_amount("1000000.00", rules_for("USD", 200_000_000), "en")


def test_amounts_card_unavailable_below_minimum_due() -> None:
    assert card_payable_due(rules_for("EUR", 50))
    assert not card_payable_due(rules_for("EUR", 49))
    assert not card_payable_due(rules_for("EUR", 0))


@given(minor=st.integers(min_value=1, max_value=99_999_999), code=st.sampled_from(["EUR", "JPY", "KWD", "ISK"]),
       locale=st.sampled_from(["en", "de_DE", "fr_FR", "ja_JP", "ar_KW", "is_IS"]))  # fmt: skip
def test_amounts_prefill_round_trips(minor: int, code: str, locale: str) -> None:
    currency = rules_for(code, 0).currency
    minor -= minor % max(currency.charge_step, currency.rounding_step)
    if minor < (currency.minimum_charge or 1):
        return
    rules = rules_for(code, minor)  # paying all of it: no rest to keep payable
    assert parse_amount(format_for_input(minor, rules, locale), rules, locale) == minor


@pytest.mark.parametrize(
    ("currency", "locale", "due", "text", "minor"),
    [
        ("EUR", "en", 17250, "172.50", 17250),  # the full amount due
        ("EUR", "en", 17250, "50", 5000),  # part of it
        ("EUR", "en", 17250, "0.01", 1),  # below the card minimum: the money has arrived anyway
        ("EUR", "de_DE", 200_000, "1.234,56", 123456),
        ("USD", "en_US", 200_000, "1,234.56", 123456),
        ("EUR", "fr_FR", 200_000, "1 234,56", 123456),
        ("EUR", "fr_FR", 200_000, "1\u202f234,56", 123456),  # as a French number formatter writes it
        ("JPY", "ja_JP", 100_000, "12", 12),  # below the card minimum of ¥50
        ("JPY", "ja_JP", 100_000, "12,345", 12345),
        ("KWD", "en", 1_000_000, "12.345", 12345),  # no "last digit 0" rule for a transfer
        ("ISK", "en", 10_000_000, "15", 1500),
        ("USD", "en", 300_000_000, "2500000.00", 250_000_000),  # above the largest card payment
    ],
)
def test_amounts_received_accepted(currency: str, locale: str, due: int, text: str, minor: int) -> None:
    assert parse_received_amount(text, currency, due, locale) == minor


@pytest.mark.parametrize(
    ("currency", "locale", "due", "text", "message"),
    [
        ("EUR", "en", 17250, "", "Enter the amount received."),
        ("EUR", "en", 17250, "  ", "Enter the amount received."),
        ("EUR", "en", 17250, "-5", "positive"),
        ("EUR", "en", 17250, "−5", "positive"),  # U+2212 minus
        ("EUR", "en", 17250, "0", "greater than zero"),
        ("EUR", "en", 17250, "0.00", "greater than zero"),
        ("EUR", "en", 17250, "1e3", "digits only"),
        ("EUR", "en", 17250, "NaN", "digits only"),
        ("EUR", "en", 17250, "Infinity", "digits only"),
        ("EUR", "en", 17250, "١٢", "digits only"),
        ("EUR", "en", 17250, "１２", "digits only"),
        ("EUR", "en", 17250, "€10", "digits only"),
        ("EUR", "en", 17250, "9" * 40, "too long"),
        ("EUR", "en", 17250, "9" * 30, "at most €172.50, the amount still due"),
        ("EUR", "en", 17250, "172.51", "at most €172.50, the amount still due"),
        ("EUR", "de_DE", 17250, "172,51", "at most 172,50\xa0€, the amount still due"),
        ("EUR", "en", 17250, "12.345", "at most 2 decimals"),
        ("EUR", "en", 17250, "12.", "Add the decimals"),
        ("EUR", "en", 17250, "1.2.3", "not a number"),
        ("EUR", "en", 17250, "1,00.00", "wrong place"),
        ("EUR", "de_DE", 17250, "12.50", "wrong place"),
        ("JPY", "ja_JP", 100_000, "100.5", "JPY amounts have no decimals"),
        ("KWD", "en", 1_000_000, "12.3456", "at most 3 decimals"),
        ("ISK", "en", 10_000_000, "15.50", "ISK amounts have no decimals"),
        ("EUR", "en", 0, "10.00", "Nothing is due"),
    ],
)
def test_amounts_received_refused_with_named_rule(
    currency: str, locale: str, due: int, text: str, message: str
) -> None:
    with pytest.raises(AmountError) as refused:
        parse_received_amount(text, currency, due, locale)
    assert message in english(refused.value.message, locale)
    assert "card" not in english(refused.value.message, locale)  # a bank transfer is not held to the card rules


@given(minor=st.integers(min_value=1, max_value=10**12), code=st.sampled_from(["EUR", "JPY", "KWD", "ISK"]),
       locale=st.sampled_from(["en", "de_DE", "fr_FR", "ja_JP", "ar_KW", "is_IS"]))  # fmt: skip
def test_amounts_received_round_trips(minor: int, code: str, locale: str) -> None:
    rules = rules_for(code, 10**12)
    minor -= minor % rules.currency.rounding_step
    if minor <= 0:
        return
    assert parse_received_amount(format_for_input(minor, rules, locale), code, 10**12, locale) == minor


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("de_DE", "0.015"),  # a German reader's 0,015: was read as fifteen
        ("de_DE", "00.150"),
        ("de_DE", "0.150,00"),
        ("de_DE", "01.500"),
        ("en", "0,015"),
        ("en_US", "0,150.00"),
        ("fr_FR", "0 015"),
    ],
)
def test_amounts_thousands_group_after_a_leading_zero_is_refused(locale: str, text: str) -> None:
    for parse in (
        lambda: parse_amount(text, rules_for("EUR", 10**8), locale),
        lambda: parse_received_amount(text, "EUR", 10**8, locale),
    ):
        with pytest.raises(AmountError) as refused:
            parse()
        said = english(refused.value.message, locale)
        assert "cannot start with 0" in said and f"“{text}”" in said


@pytest.mark.parametrize(
    ("locale", "text", "minor"),
    [
        ("de_DE", "1.500", 150000),
        ("de_DE", "0,15", 15),
        ("de_DE", "10.000,05", 1000005),
        ("en", "0.015", None),  # three decimals of EUR: refused for the decimals, not as grouping
        ("de_DE", "1.50", None),
        ("de_DE", "1.5000", None),
        ("de_DE", "1.500.00", None),
    ],
)
def test_amounts_thousands_groups_are_exactly_three_digits(locale: str, text: str, minor: int | None) -> None:
    if minor is None:
        with pytest.raises(AmountError):
            parse_received_amount(text, "EUR", 10**8, locale)
    else:
        assert parse_received_amount(text, "EUR", 10**8, locale) == minor


@given(
    head=st.integers(min_value=0, max_value=999).map(str) | st.sampled_from(["00", "000", "01", "007"]),
    groups=st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=3),
    locale=st.sampled_from(LOCALES),
)
def test_amounts_grouped_whole_numbers_mean_their_digits_or_are_refused(
    head: str, groups: list[int], locale: str
) -> None:
    """A grouped number is the number its digits say, unless its first group starts with 0: then it is refused."""
    _, group = decimal_and_group(locale)
    text = group.join([head, *(f"{g:03d}" for g in groups)])
    if head.startswith("0"):
        with pytest.raises(AmountError, match="cannot start with 0"):
            parse_received_amount(text, "JPY", 10**12, locale)
    else:
        assert parse_received_amount(text, "JPY", 10**12, locale) == int(text.replace(group, ""))


def test_amounts_three_decimal_rest_is_named_and_the_rest_is_never_stranded() -> None:
    """KWD 12.345: a card can pay 12.340 (last digit 0); the 0.005 left is the part no card can ever pay."""
    rules = rules_for("KWD", 12345)
    assert (rules.smallest_charge, rules.largest_charge, rules.card_rest, rules.highest_charge) == (10, 12340, 5, 12340)
    assert parse_amount(format_for_input(rules.highest_charge, rules, "en"), rules, "en") == 12340
    assert not card_payable_due(rules_for("KWD", 5))
    assert card_payable_due(rules_for("KWD", 10))


@pytest.mark.parametrize(
    ("currency", "due", "text", "message"),
    [
        # €0.30 would be left: below the €0.50 a card can pay, so it could never be paid by card.
        ("EUR", 17250, "172.20", "That would leave €0.30, less than the smallest card payment (€0.50)"),
        ("EUR", 17250, "172.49", "Pay €172.50, or at most €172.00."),
        ("EUR", 70, "0.50", "Pay €0.70 in one card payment"),
        ("GBP", 50, "0.30", "Pay £0.50 in one card payment"),
        ("JPY", 120, "100", "Pay ¥120, or at most ¥70."),
        ("JPY", 80, "60", "Pay ¥80 in one card payment"),
        # Above Stripe's largest charge: only parts that leave a payable rest are offered.
        ("USD", 100_000_010, "999999.99", "Pay at most $999,999.60."),
    ],
)
def test_amounts_part_payment_that_strands_the_rest_is_refused(
    currency: str, due: int, text: str, message: str
) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(text, rules_for(currency, due), "en")
    assert message in english(refused.value.message)


@given(
    due=st.integers(min_value=1, max_value=300_000_000),
    code=st.sampled_from(["EUR", "USD", "GBP", "JPY", "KWD", "BHD", "HUF", "ISK", "XOF"]),
    share=st.floats(min_value=0, max_value=1),
    locale=st.sampled_from(LOCALES),
)
def test_amounts_no_card_payment_leaves_a_rest_cards_cannot_pay(due: int, code: str, share: float, locale: str) -> None:
    """Whatever is due: the prefill is accepted, and every accepted amount leaves either nothing a card could pay
    (at most the sub-step rest, e.g. KWD 0.005) or at least the smallest card payment."""
    rules = rules_for(code, due)
    if not card_payable_due(rules):
        return
    prefill = parse_amount(format_for_input(rules.highest_charge, rules, locale), rules, locale)
    assert prefill == rules.highest_charge and rules.card_rest < rules.currency.charge_step
    step = rules.currency.charge_step
    tried = int(rules.largest_charge * share) // step * step
    try:
        paid = parse_amount(format_for_input(tried, rules, locale), rules, locale)
    except AmountError:
        return
    left = due - paid
    assert left == rules.card_rest or left - rules.card_rest >= rules.smallest_charge
