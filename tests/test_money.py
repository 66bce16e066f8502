"""Currencies, formatting and totals: property-based checks that totals always add up."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web.invoices.money import CURRENCIES, format_money, get_currency
from web.invoices.totals import LineAmounts, compute_totals, round_to_step


def test_money_exponents_follow_stripe() -> None:
    assert get_currency("JPY").exponent == 0
    assert get_currency("krw").exponent == 0
    assert get_currency("KWD").exponent == 3
    assert get_currency("EUR").exponent == 2
    assert get_currency("ISK").rounding_step == 100
    assert get_currency("KWD").charge_step == 10
    assert get_currency("USD").minimum_charge == 50
    assert get_currency("GBP").minimum_charge == 30
    assert len(CURRENCIES) >= 130


def test_money_unknown_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="not a currency"):
        get_currency("XXX")


@pytest.mark.parametrize(
    ("minor", "code", "locale", "expected"),
    [
        (123456, "EUR", "de_DE", "1.234,56\xa0€"),
        (123456, "EUR", "en_US", "€1,234.56"),
        (5000, "JPY", "ja_JP", "￥5,000"),
        (1234567, "KWD", "en", "KWD\xa01,234.567"),
        (12300, "ISK", "is_IS", "123\xa0kr."),
    ],
)
def test_money_formats_for_reader(minor: int, code: str, locale: str, expected: str) -> None:
    assert format_money(minor, code, locale) == expected


async def test_money_currency_table_matches_database(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT code, exponent, rounding_step, charge_step, minimum_charge, maximum_charge FROM currencies"
    )
    in_db = {
        r["code"]: (r["exponent"], r["rounding_step"], r["charge_step"], r["minimum_charge"], r["maximum_charge"])
        for r in rows
    }
    in_code = {
        c.code: (c.exponent, c.rounding_step, c.charge_step, c.minimum_charge, c.maximum_charge)
        for c in CURRENCIES.values()
    }
    assert in_db == in_code


def test_totals_vat_is_computed_per_rate_on_summed_nets() -> None:
    # Three lines of 0.05 at 10%: per line VAT would be 0.01 x 3 = 0.03; EN 16931 takes 10% of 0.15 = 0.02.
    lines = [LineAmounts(Decimal(1), 5, Decimal(10))] * 3
    totals = compute_totals(lines, "EUR")
    assert totals.net == 15
    assert [(g.rate, g.net, g.tax) for g in totals.tax_groups] == [(Decimal(10), 15, 2)]
    assert totals.total == 17


def test_totals_round_line_nets_half_up() -> None:
    totals = compute_totals(
        [LineAmounts(Decimal("0.5"), 5, Decimal(0)), LineAmounts(Decimal("1.5"), 333, Decimal(0))], "EUR"
    )
    assert totals.line_nets == (3, 500)  # 2.5 -> 3, 499.5 -> 500


def test_totals_isk_rounds_to_whole_kronur() -> None:
    totals = compute_totals([LineAmounts(Decimal("1.5"), 12345, Decimal("24"))], "ISK")
    assert totals.line_nets[0] % 100 == 0
    assert totals.tax % 100 == 0


def test_totals_group_equal_rates_written_differently() -> None:
    totals = compute_totals(
        [LineAmounts(Decimal(1), 100, Decimal("19")), LineAmounts(Decimal(1), 100, Decimal("19.000"))], "EUR"
    )
    assert len(totals.tax_groups) == 1


_lines = st.lists(
    st.builds(
        LineAmounts,
        quantity=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10000), places=4),
        unit_price=st.integers(min_value=-(10**9), max_value=10**9),
        tax_rate=st.sampled_from([Decimal(0), Decimal("5.5"), Decimal(7), Decimal(19), Decimal("7.7"), Decimal(21)]),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(lines=_lines, code=st.sampled_from(["EUR", "JPY", "KWD", "ISK", "USD"]))
def test_totals_always_add_up(lines: list[LineAmounts], code: str) -> None:
    totals = compute_totals(lines, code)
    step = get_currency(code).rounding_step
    assert totals.net == sum(totals.line_nets)
    assert totals.net == sum(g.net for g in totals.tax_groups)
    assert totals.tax == sum(g.tax for g in totals.tax_groups)
    assert totals.total == totals.net + totals.tax
    for line_amounts, net in zip(lines, totals.line_nets, strict=True):
        assert net % step == 0
        # Rounding never moves a line by more than half a step.
        assert abs(Decimal(net) - line_amounts.quantity * line_amounts.unit_price) <= Decimal(step) / 2
    for group in totals.tax_groups:
        assert group.tax % step == 0
        assert abs(Decimal(group.tax) - Decimal(group.net) * group.rate / 100) <= Decimal(step) / 2
    assert len({g.rate for g in totals.tax_groups}) == len(totals.tax_groups)


@given(value=st.decimals(min_value=-(10**6), max_value=10**6, places=3), step=st.sampled_from([1, 10, 100]))
def test_totals_round_to_step_is_nearest_multiple(value: Decimal, step: int) -> None:
    rounded = round_to_step(value, step)
    assert rounded % step == 0
    assert abs(Decimal(rounded) - value) <= Decimal(step) / 2
