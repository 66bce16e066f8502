"""The invoice builder's form: header fields and lines as typed, checked, and turned into what a draft stores.

Every save keeps the form exactly as typed (`invoices.draft_form`), so a field with a mistake is never lost;
the valid values go to the invoice's columns and lines, which is what the preview shows and what is sent.
Totals count the valid lines only, and the page says how many lines are left out until corrected.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from db.invoices import Invoice, InvoiceLine, NewLine
from web.console.fields import Form, clean_text
from web.console.line_values import (
    LineValueError,
    decimal_text,
    parse_quantity,
    parse_tax_rate,
    parse_unit_price,
    unit_price_text,
)
from web.einvoice.codes import CATEGORY_CODES, UNIT_CODES, VAT_CATEGORIES, ZERO_RATE_CATEGORIES
from web.invoices.money import CURRENCIES
from web.invoices.totals import Totals, compute_totals, line_net

HEADER_FIELDS = (
    "customer_id", "currency", "locale", "issue_date", "due_date", "notes", "payment_terms", "vat_exemption_reason",
)  # fmt: skip
LINE_FIELDS = ("description", "quantity", "unit_price", "tax_rate", "unit_code", "tax_category")
MAX_LINES = 200
_KEY = re.compile(r"^[A-Za-z0-9_-]{4,24}$")


def new_line_key() -> str:
    return secrets.token_urlsafe(6)


@dataclass(slots=True)
class LineInput:
    key: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    parsed: NewLine | None = None
    net: int | None = None


@dataclass(slots=True)
class DraftCheck:
    form: Form
    lines: list[LineInput]
    customer_id: int
    currency: str
    locale: str
    issue_date: date | None
    due_date: date | None
    notes: str
    payment_terms: str
    vat_exemption_reason: str
    totals: Totals

    @property
    def problems(self) -> int:
        return len(self.form.errors) + sum(len(line.errors) for line in self.lines)

    @property
    def valid_lines(self) -> list[NewLine]:
        return [line.parsed for line in self.lines if line.parsed is not None]

    @property
    def left_out(self) -> int:
        return sum(1 for line in self.lines if line.errors)

    def as_json(self) -> dict[str, Any]:
        return {"header": self.form.values, "lines": [{"key": ln.key, **ln.values} for ln in self.lines]}


def posted_lines(keys: list[str], posted: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Lines in the order of their keys on the page; keys we did not issue are dropped, not trusted."""
    seen: set[str] = set()
    lines = []
    for key in keys[:MAX_LINES]:
        if _KEY.match(key) and key not in seen:
            seen.add(key)
            lines.append((key, {name: posted.get(f"line-{key}-{name}", "")[:2000] for name in LINE_FIELDS}))
    return lines


def check_draft(
    header: dict[str, str], lines: list[tuple[str, dict[str, str]]], *, current: Invoice, customer_ids: set[int]
) -> DraftCheck:
    form = Form.of(header, HEADER_FIELDS)
    customer_text = form.values["customer_id"].strip()
    customer_id = int(customer_text) if customer_text.isascii() and customer_text.isdigit() else 0
    if customer_id not in customer_ids:
        form.fail("customer_id", "Choose a customer from the list.")
        customer_id = current.customer_id
    currency = form.currency("currency") or current.currency
    currency = currency if currency in CURRENCIES else current.currency
    locale = form.locale("locale")
    if "locale" in form.errors:
        locale = current.locale
    issue_date = form.day("issue_date", "issue date")
    due_date = form.day("due_date", "due date")
    if issue_date and due_date and due_date < issue_date:
        form.fail("due_date", "The due date cannot be before the issue date.")
        due_date = None
    notes = form.text("notes", "notes", max_length=5000, multiline=True)
    terms = form.text("payment_terms", "payment terms", max_length=2000, multiline=True)
    exemption = form.text("vat_exemption_reason", "reason for the VAT exemption", max_length=500)
    checked = [_check_line(key, values, currency) for key, values in lines]
    totals = compute_totals((line.parsed for line in checked if line.parsed), currency)
    return DraftCheck(
        form=form, lines=checked, customer_id=customer_id, currency=currency, locale=locale,
        issue_date=issue_date if "issue_date" not in form.errors else current.issue_date,
        due_date=due_date if "due_date" not in form.errors else current.due_date,
        notes=notes[:5000], payment_terms=terms[:2000], vat_exemption_reason=exemption[:500], totals=totals,
    )  # fmt: skip


def _check_line(key: str, values: dict[str, str], currency: str) -> LineInput:
    line = LineInput(key, values)
    description = clean_text(values["description"], multiline=True)
    if not description and not values["unit_price"].strip():
        return line  # a line just added and not filled in yet: no mistakes to show, nothing to count
    if not description:
        line.errors["description"] = "Describe what is billed."
    elif len(description) > 1000:
        line.errors["description"] = f"The description can be at most 1,000 characters (it has {len(description):,})."
    parsed: dict[str, Any] = {}
    for name, parse in (
        ("quantity", parse_quantity),
        ("unit_price", lambda text: parse_unit_price(text, currency)),
        ("tax_rate", parse_tax_rate),
    ):
        try:
            parsed[name] = parse(values[name])
        except LineValueError as problem:
            line.errors[name] = str(problem)
    unit = values.get("unit_code", "").strip().upper() or "C62"
    if unit not in UNIT_CODES:
        line.errors["unit_code"] = "Choose the unit from the list."
    # None chosen (a form from before categories): 0 % is zero-rated, anything else standard.
    category = values.get("tax_category", "").strip().upper() or ("Z" if parsed.get("tax_rate") == 0 else "S")
    if category not in CATEGORY_CODES:
        line.errors["tax_category"] = "Choose the VAT category from the list."
    elif "tax_rate" in parsed and (category in ZERO_RATE_CATEGORIES) != (parsed["tax_rate"] == 0):
        line.errors["tax_rate"] = (
            "A standard-rated line needs a VAT rate above 0 %."
            if category == "S"
            else f"A line that is {dict(VAT_CATEGORIES)[category].lower()} has 0 % VAT."
        )
    if not line.errors:
        line.parsed = NewLine(description, parsed["quantity"], parsed["unit_price"], parsed["tax_rate"], unit, category)
        line.net = line_net(line.parsed, currency)
    return line


def stored_form(invoice: Invoice, lines: list[InvoiceLine], draft_form: dict[str, Any] | None) -> DraftInput:
    """What the builder shows: the form as last typed, or (a draft made elsewhere) its stored values."""
    if draft_form is not None:
        header = {name: str(draft_form.get("header", {}).get(name, "")) for name in HEADER_FIELDS}
        typed = [
            (str(item.get("key", "")), {name: str(item.get(name, "")) for name in LINE_FIELDS})
            for item in draft_form.get("lines", [])
        ]
        return DraftInput(header, [(key, values) for key, values in typed if _KEY.match(key)])
    header = {
        "customer_id": str(invoice.customer_id), "currency": invoice.currency, "locale": invoice.locale,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else "",
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "notes": invoice.notes, "payment_terms": invoice.payment_terms,
        "vat_exemption_reason": invoice.vat_exemption_reason,
    }  # fmt: skip
    return DraftInput(
        header,
        [
            (
                new_line_key(),
                {
                    "description": line.description,
                    "quantity": decimal_text(line.quantity),
                    "unit_price": unit_price_text(line.unit_price, invoice.currency),
                    "tax_rate": decimal_text(line.tax_rate),
                    "unit_code": line.unit_code,
                    "tax_category": line.tax_category,
                },
            )
            for line in lines
        ],
    )


@dataclass(frozen=True, slots=True)
class DraftInput:
    header: dict[str, str]
    lines: list[tuple[str, dict[str, str]]]


def blank_line(default_rate: str = "", category: str = "S") -> tuple[str, dict[str, str]]:
    """A new line, at the rate and in the VAT category of the one before it (invoices rarely mix them)."""
    return new_line_key(), {
        "description": "", "quantity": "1", "unit_price": "", "tax_rate": default_rate, "unit_code": "C62",
        "tax_category": category,
    }  # fmt: skip
