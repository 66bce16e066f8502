"""Numbers a billing teammate types into an invoice line: quantity, unit price, tax rate.

Strict on purpose: ASCII digits, one decimal separator ("." or ","), no exponent, no NaN or Infinity, no
digits from other scripts (Decimal would accept "1e3", "NaN" and "١٢"; an invoice must not). Grouping marks
are refused rather than guessed: "1.234" could be either a thousand or one point two.
"""

from __future__ import annotations

import re
from decimal import Decimal

from web.invoices.money import get_currency

_NUMBER = re.compile(r"^(-?)([0-9]+)(?:[.,]([0-9]+))?$")
MAX_QUANTITY = Decimal("9999999999")  # numeric(14, 4)
MAX_UNIT_PRICE = 999_999_999_999  # minor units, the column's check


class LineValueError(ValueError):
    """str() is the message shown under the field."""


def _decimal(text: str, what: str, *, allow_negative: bool = False) -> tuple[Decimal, int]:
    raw = text.strip().replace(" ", "")
    if not raw:
        raise LineValueError(f"Enter the {what}.")
    if len(raw) > 24:
        raise LineValueError(f"The {what} is too long.")
    if raw.endswith("%") and what == "tax rate":
        raw = raw[:-1]
    match = _NUMBER.match(raw) if raw.isascii() else None
    if match is None:
        raise LineValueError(f"Enter the {what} as a number with digits 0–9, e.g. 12.50.")
    sign, whole, fraction = match.groups()
    if sign and not allow_negative:
        raise LineValueError(f"The {what} cannot be negative.")
    value = Decimal(f"{sign}{whole}.{fraction or '0'}")
    return value, len(fraction or "")


def parse_quantity(text: str) -> Decimal:
    value, decimals = _decimal(text, "quantity")
    if decimals > 4:
        raise LineValueError("The quantity can have at most 4 decimals.")
    if value <= 0:
        raise LineValueError("The quantity must be more than 0.")
    if value > MAX_QUANTITY:
        raise LineValueError("The quantity is too large.")
    return value


def parse_unit_price(text: str, currency_code: str) -> int:
    """Minor units. Negative prices are discount lines; the invoice total is checked when sending."""
    currency = get_currency(currency_code)
    value, decimals = _decimal(text, "unit price", allow_negative=True)
    if decimals > currency.exponent:
        if currency.exponent == 0:
            raise LineValueError(f"{currency.code} prices have no decimals: enter a whole number.")
        raise LineValueError(f"{currency.code} prices have at most {currency.exponent} decimals.")
    minor = int(value.scaleb(currency.exponent))
    if abs(minor) > MAX_UNIT_PRICE:
        raise LineValueError("The unit price is too large.")
    return minor


def parse_tax_rate(text: str) -> Decimal:
    value, decimals = _decimal(text, "tax rate")
    if decimals > 3:
        raise LineValueError("The tax rate can have at most 3 decimals, e.g. 7.7.")
    if value >= 100:
        raise LineValueError("The tax rate is a percentage below 100, e.g. 19 for 19 %.")
    return value


def decimal_text(value: Decimal) -> str:
    """A stored quantity or tax rate as a person would type it: 1.5, not 1.5000 or 1.5E+0."""
    return format(value.normalize(), "f")


def unit_price_text(minor: int, currency_code: str) -> str:
    exponent = get_currency(currency_code).exponent
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"
