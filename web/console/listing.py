"""Invoice rows for console lists: the document's own totals, so a list never disagrees with the invoice; and
what the list's address asks for (status, search, page), made safe."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, DecimalException

from babel.numbers import NumberFormatError, parse_decimal

from db.invoice_list import AmountSearch, InvoiceListQuery, InvoiceRow
from db.invoices import Invoice
from web.http.urls import parse_id
from web.invoices.documents import amount_due, is_overdue
from web.invoices.money import THREE_DECIMAL, ZERO_DECIMAL
from web.invoices.status import InvoiceStatus
from web.invoices.totals import compute_totals
from web.locales import babel_locale

STATUSES = tuple(InvoiceStatus)
PAGE_SIZE = 50
SEARCH_LENGTH = 100
# A select of customers (New invoice for, the draft's customer) lists this many by name; a search finds the others.
CUSTOMER_CHOICES = 200
# An amount, with a currency sign or code before or after it ("€ 1.234,50", "99 EUR"); "INV-0042" is no amount.
_CURRENCY = r"(?:[A-Za-z]{3}|[^\w\s-]{1,3})?"
_AMOUNT = re.compile(rf"{_CURRENCY}\s*(\d(?:.*\d)?)\s*{_CURRENCY}")
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_DIGITS = re.compile(r"[0-9][0-9.,'’]*")


def search_text(params: Mapping[str, str], name: str) -> str:
    """What was typed in a search box: at most SEARCH_LENGTH characters, no NUL (PostgreSQL refuses it)."""
    return params.get(name, "")[:SEARCH_LENGTH].replace("\x00", "").strip()


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    invoice: Invoice
    customer_name: str
    total: int
    paid: int

    @property
    def due(self) -> int:
        return amount_due(self.invoice.status, self.total, self.paid)

    def is_overdue(self, today: date) -> bool:
        return is_overdue(self.invoice, self.due, today)


def invoice_summaries(rows: list[InvoiceRow]) -> list[InvoiceSummary]:
    return [
        InvoiceSummary(
            row.invoice,
            row.customer_name,
            compute_totals(row.lines, row.invoice.currency).total,
            row.paid,
        )
        for row in rows
    ]


def amount_readings(text: str, locale: str) -> list[Decimal]:
    """Every amount the text could mean, read the console's way (its number format) and the English way: in a
    German console "1.250" is 1250 and "12.50" is still 12.50. Spaces in it are grouping ("1 250,50")."""
    matched = _AMOUNT.fullmatch(text.strip())
    if matched is None:
        return []
    digits = _SPACES.sub("", matched.group(1))
    # Digits and separators only: Babel would also read an exponent ("1e5"), and "1,1e99999" overflowed Decimal.
    if not _DIGITS.fullmatch(digits) or re.match(r"0\d", digits):  # "0042": the end of a number, not an amount
        return []
    readings = set()
    for reading_locale in (babel_locale(locale), "en"):
        try:
            readings.add(parse_decimal(digits, locale=reading_locale, strict=True))
        except (NumberFormatError, DecimalException):
            continue
    return sorted(reading for reading in readings if 0 <= reading < Decimal(10) ** 15)


def amount_search(text: str, locale: str) -> AmountSearch | None:
    readings = amount_readings(text, locale)
    if not readings:
        return None

    def minor(exponent: int) -> list[int]:
        scaled = (reading.scaleb(exponent) for reading in readings)
        return sorted({int(value) for value in scaled if value == value.to_integral_value()})

    return AmountSearch(minor(0), minor(2), minor(3), sorted(ZERO_DECIMAL), sorted(THREE_DECIMAL))


def list_query(params: Mapping[str, str], locale: str) -> InvoiceListQuery:
    """The list's query parameters (amounts read in the console's number format): an unknown status or a
    malformed page mark is simply not applied."""
    status = params.get("status")
    text = search_text(params, "q")
    return InvoiceListQuery(
        status=status if status in STATUSES else None,
        customer_id=parse_id(params.get("customer")) or None,
        text=text,
        amount=amount_search(text, locale) if text else None,
        after=parse_id(params.get("after")) or None,
    )
