"""The amount validation matrix: currencies, locales and nasty inputs, each with a message naming the rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.amounts import AmountError, card_payable_due, format_for_input, parse_amount, rules_for

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
    with pytest.raises(AmountError, match=message.replace("$", r"\$").replace(".", r"\.")):
        parse_amount(text, rules_for(currency, DUE[currency]), locale)


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
    rules = rules_for(code, 99_999_999)
    minor -= minor % max(rules.currency.charge_step, rules.currency.rounding_step)
    if minor < (rules.currency.minimum_charge or 1):
        return
    assert parse_amount(format_for_input(minor, rules, locale), rules, locale) == minor
