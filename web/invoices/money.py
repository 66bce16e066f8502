"""Money as integer minor units: the currencies Stripe supports, their exponents and charge rules, and formatting."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency

from web.locales import babel_locale

# Stripe's zero- and three-decimal currencies; every other supported currency has two decimals.
ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())

# Every ISO 4217 currency Stripe accepts for charges.
STRIPE_CURRENCIES = tuple(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BWP BYN BZD CAD CDF CHF CLP
    CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    ISK JMD JOD JPY KES KGS KHR KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MUR MVR MWK MXN
    MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK SGD SHP SLE
    SOS SRD STD SZL THB TJS TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    """.split()
)

# Stripe's documented minimum charge amounts, in minor units. Elsewhere Stripe converts to the settlement
# currency and decides, so we leave the minimum unknown rather than guess an exchange rate.
STRIPE_MINIMUM_CHARGE = {
    "USD": 50, "EUR": 50, "CHF": 50, "CAD": 50, "AUD": 50, "NZD": 50, "SGD": 50, "BRL": 50, "INR": 50,
    "GBP": 30, "JPY": 50, "HKD": 400, "HUF": 17500, "CZK": 1500, "DKK": 250, "NOK": 300, "SEK": 300,
    "PLN": 200, "AED": 200, "MYR": 200, "RON": 200, "BGN": 100, "MXN": 1000, "THB": 1000,
}  # fmt: skip

STRIPE_MAXIMUM_CHARGE = 99_999_999


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int  # Stripe's: digits after the decimal point in the API's integer amounts
    rounding_step: int  # invoice amounts are rounded to a multiple of this (ISK has no subunit: 100)
    charge_step: int  # a charge must be a multiple of this (Stripe: last digit 0 for three-decimal currencies)
    minimum_charge: int | None
    maximum_charge: int = STRIPE_MAXIMUM_CHARGE

    @property
    def unit(self) -> Decimal:
        """One minor unit in major units, e.g. Decimal('0.01')."""
        return Decimal(1).scaleb(-self.exponent)


def _build(code: str) -> Currency:
    exponent = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    # Stripe represents ISK with two decimals for compatibility, but only whole krónur are valid.
    rounding_step = 100 if code == "ISK" else 1
    charge_step = 100 if code == "ISK" else 10 if exponent == 3 else 1
    return Currency(code, exponent, rounding_step, charge_step, STRIPE_MINIMUM_CHARGE.get(code))


CURRENCIES: dict[str, Currency] = {code: _build(code) for code in STRIPE_CURRENCIES}


class UnknownCurrency(ValueError):
    pass


def get_currency(code: str) -> Currency:
    try:
        return CURRENCIES[code.upper()]
    except KeyError:
        raise UnknownCurrency(f"{code!r} is not a currency we can bill in") from None


def to_major(minor: int, code: str) -> Decimal:
    """Minor units to a Decimal in major units (exact)."""
    return Decimal(minor).scaleb(-get_currency(code).exponent)


# CLDR's currencySpacing rule, which Babel does not apply: a letter symbol next to a digit gets a no-break
# space ("KWD 1,234.567", not "KWD1,234.567").
_SYMBOL_BEFORE_DIGIT = re.compile(r"^([^\d\s\-−]*[A-Za-z])(?=[\d\-−])")
_DIGIT_BEFORE_SYMBOL = re.compile(r"(?<=\d)([A-Za-z][^\d\s]*)$")


# Babel takes 50-100 µs an amount; a console list shows a hundred, and the same ones page after page.
@functools.lru_cache(maxsize=16384)
def format_money(minor: int, code: str, locale: str) -> str:
    """Format an amount for a reader, e.g. 123456 EUR in de -> '1.234,56 €'."""
    text = format_currency(to_major(minor, code), code, locale=babel_locale(locale))
    text = _SYMBOL_BEFORE_DIGIT.sub("\\1\xa0", text)
    return _DIGIT_BEFORE_SYMBOL.sub("\xa0\\1", text)
