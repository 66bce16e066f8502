"""A Stripe invoice (as the API returns it) made into what the portal keeps: checked field by field, Stripe's own
amounts taken as they are (our rounding rules may differ from Stripe's, and Stripe is the ledger of record).

A draft is not copied: it appears once finalized. Anything the portal cannot hold (a currency it does not bill
in, an amount out of range, a finalized invoice without a number) is refused with the reason, for the backfill's
summary and the logs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from db.postal import PostalAddress
from db.stripe_invoices import ImportedInvoice, ImportedLine
from db.stripe_payments import ImportedPayment
from web.invoices.money import UnknownCurrency, get_currency
from web.payments.ledger import card_of

COPIED_STATUSES = {"open", "paid", "void", "uncollectible"}
_MAX_AMOUNT = 999_999_999_999  # the lines' unit price limit, and far above any invoice
_MAX_TIMESTAMP = 253402300799


class NotCopyable(ValueError):
    """Why this Stripe invoice cannot be kept in the portal."""


def copy_of(invoice: dict[str, Any], account_id: str) -> ImportedInvoice | None:
    """None for a draft (or a deleted one); NotCopyable when something cannot be held."""
    status = invoice.get("status")
    if status == "draft":
        return None
    if status not in COPIED_STATUSES:
        raise NotCopyable(f"status {status!r} is not one of Stripe's invoice statuses")
    currency = _text(invoice, "currency", 3).upper()
    try:
        get_currency(currency)
    except UnknownCurrency:
        raise NotCopyable(f"the portal does not bill in {currency}") from None
    number = _text(invoice, "number", 64)
    percentages = invoice.get("tax_rate_percentages") or {}
    lines = tuple(_line(line, percentages) for line in (invoice.get("lines") or {}).get("data") or [])
    if not lines:
        raise NotCopyable("it has no lines")
    total, net = _amount(invoice, "total", signed=True), _amount(invoice, "total_excluding_tax", signed=True)
    transitions = invoice.get("status_transitions") or {}
    issued = _moment(transitions.get("finalized_at")) or _moment(invoice.get("effective_at"))
    if issued is None:
        raise NotCopyable("it has no finalization time")
    due = _moment(invoice.get("due_date"))
    address = invoice.get("customer_address") or {}
    copied = ImportedInvoice(
        stripe_id=_text(invoice, "id", 255), account_id=account_id, number=number, status=str(status),
        currency=currency, customer_stripe_id=_customer_id(invoice),
        customer_name=str(invoice.get("customer_name") or invoice.get("customer_email") or "Customer")[:200],
        customer_email=str(invoice.get("customer_email") or "")[:320],
        customer_address=_address(address if isinstance(address, dict) else {}),
        customer_postal=postal_of(address if isinstance(address, dict) else {}),
        customer_tax_id=_tax_id(invoice.get("customer_tax_ids")), lines=lines, net=net, tax=total - net,
        total=total, amount_paid=_amount(invoice, "amount_paid"), amount_remaining=_amount(invoice, "amount_remaining"),
        tax_groups=_tax_groups(invoice, percentages, net), issue_date=issued.date(),
        due_date=max(due.date(), issued.date()) if due is not None else None,
        paid_at=(_moment(transitions.get("paid_at")) or issued) if status == "paid" else None,
        voided_at=(_moment(transitions.get("voided_at")) or issued) if status == "void" else None,
        hosted_invoice_url=_url(invoice.get("hosted_invoice_url")), invoice_pdf=_url(invoice.get("invoice_pdf")),
        payment_failed=status == "open" and bool(invoice.get("attempted")),
        content_hash="", payments=_payments(invoice, issued),
    )  # fmt: skip
    return _with_hash(copied)


def _with_hash(copied: ImportedInvoice) -> ImportedInvoice:
    """The hash of everything copied (not Stripe's whole object: its `updated`-like noise must not count)."""
    digest = hashlib.sha256(json.dumps(asdict(copied), default=str, sort_keys=True).encode()).hexdigest()
    return replace(copied, content_hash=digest)


def _line(line: dict[str, Any], percentages: dict[str, str]) -> ImportedLine:
    net = _amount(line, "amount", signed=True)
    taxes = [taxed for taxed in line.get("taxes") or [] if isinstance(taxed, dict)]
    tax = sum(_amount(taxed, "amount") for taxed in taxes)
    rate = _rate(taxes[0], percentages) if taxes else Decimal(0)
    quantity = _decimal(line.get("quantity_decimal") or line.get("quantity") or 1)
    unit = _decimal((line.get("pricing") or {}).get("unit_amount_decimal") or 0)
    if (
        quantity <= 0
        or quantity >= Decimal("1e10")
        or quantity != quantity.quantize(Decimal("0.0001"))
        or abs(unit) > _MAX_AMOUNT
    ):
        # The portal's lines hold a positive quantity of at most four decimals: show Stripe's amount as one unit.
        quantity, unit = Decimal(1), Decimal(net)
    description = str(line.get("description") or "").strip()[:1000] or "Item"
    return ImportedLine(description, quantity, int(unit.to_integral_value()), rate, net, tax)


def _tax_groups(invoice: dict[str, Any], percentages: dict[str, str], net: int) -> tuple[tuple[Decimal, int, int], ...]:
    """Stripe's taxes by rate, highest first, and the untaxed rest of the net at 0 %: the document's breakdown."""
    groups: dict[Decimal, list[int]] = {}
    for taxed in invoice.get("total_taxes") or []:
        if not isinstance(taxed, dict):
            continue
        rate = _rate(taxed, percentages)
        group = groups.setdefault(rate, [0, 0])
        group[0] += _amount(taxed, "taxable_amount", signed=True)
        group[1] += _amount(taxed, "amount")
    untaxed = net - sum(group[0] for group in groups.values())
    if untaxed or not groups:
        group = groups.setdefault(Decimal(0), [0, 0])
        group[0] += untaxed
    return tuple((rate, values[0], values[1]) for rate, values in sorted(groups.items(), reverse=True))


def _rate(taxed: dict[str, Any], percentages: dict[str, str]) -> Decimal:
    named = (taxed.get("tax_rate_details") or {}).get("tax_rate")
    rate_id = named.get("id") if isinstance(named, dict) else named
    rate = _decimal(percentages.get(str(rate_id), "0"))
    if not Decimal(0) <= rate < Decimal(100):
        raise NotCopyable(f"tax rate {rate} is not a percentage below 100")
    return rate.quantize(Decimal("0.001"))


def _payments(invoice: dict[str, Any], issued: datetime) -> tuple[ImportedPayment, ...]:
    """The invoice's paid payments (complete_invoice lists them, each intent with its charge), oldest first. One
    that cannot be read is left out: it has no receipt, and its amount is in Stripe's amount paid all the same."""
    listed = (invoice.get("payments") or {}).get("data") or []
    kept = []
    for paid in listed if isinstance(listed, list) else []:
        if not isinstance(paid, dict) or paid.get("status") != "paid":
            continue
        stripe_id, amount = paid.get("id"), paid.get("amount_paid")
        if not isinstance(stripe_id, str) or not 0 < len(stripe_id) <= 255:
            continue
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= _MAX_AMOUNT:
            continue
        transitions = paid.get("status_transitions") or {}
        paid_at = _moment(transitions.get("paid_at")) or _moment(paid.get("created")) or issued
        payment = paid.get("payment") or {}
        intent = payment.get("payment_intent") if isinstance(payment, dict) else None
        intent_id = intent.get("id") if isinstance(intent, dict) else intent
        brand, last4 = card_of(intent) if isinstance(intent, dict) else ("", "")
        kept.append(ImportedPayment(
            stripe_id, amount, paid_at, intent_id if isinstance(intent_id, str) else None,
            "card" if last4 else "other", brand, last4,
        ))  # fmt: skip
    return tuple(sorted(kept, key=lambda payment: (payment.paid_at, payment.stripe_id)))


def _customer_id(invoice: dict[str, Any]) -> str:
    customer = invoice.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    if not isinstance(customer, str) or not customer.startswith("cus_") or len(customer) > 255:
        raise NotCopyable("it has no Stripe customer")
    return customer


def _address(address: dict[str, Any]) -> str:
    parts = [address.get(name) for name in ("line1", "line2")]
    parts.append(" ".join(str(part) for part in (address.get("postal_code"), address.get("city")) if part))
    parts += [address.get("state"), address.get("country")]
    return "\n".join(str(part) for part in parts if part)[:1000]


def _tax_id(tax_ids: Any) -> str:
    for tax_id in tax_ids if isinstance(tax_ids, list) else []:
        if isinstance(tax_id, dict) and tax_id.get("value"):
            return str(tax_id["value"])[:64]
    return ""


def _text(obj: dict[str, Any], name: str, limit: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise NotCopyable(f"{name} is missing or too long")
    return value


def _amount(obj: dict[str, Any], name: str, *, signed: bool = False) -> int:
    value = obj.get(name, 0)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > _MAX_AMOUNT or (value < 0 and not signed):
        raise NotCopyable(f"{name} is not an amount")
    return value


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise NotCopyable(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise NotCopyable(f"{value!r} is not a number")
    return number


def _moment(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_TIMESTAMP:
        return datetime.fromtimestamp(value, UTC)
    return None


def _url(value: Any) -> str:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2000 else ""


def postal_of(address: dict[str, Any]) -> PostalAddress:
    """Stripe's address in the parts an e-invoice needs (the state goes with the city; the country is ISO)."""

    def part(name: str, limit: int) -> str:
        value = address.get(name)
        return str(value).strip()[:limit] if isinstance(value, str) else ""

    country = part("country", 2).upper()
    city = ", ".join(filter(None, (part("city", 100), part("state", 50))))[:100]
    return PostalAddress(
        part("line1", 200), part("line2", 200), part("postal_code", 20), city,
        country if len(country) == 2 and country.isascii() and country.isalpha() else "",
    )  # fmt: skip


def customer_details(customer: dict[str, Any]) -> dict[str, Any]:
    """A Stripe customer's details as the portal's customer list keeps them (customer.updated)."""
    address = customer.get("address")
    tax_ids = customer.get("tax_ids")
    return {
        "name": str(customer.get("name") or customer.get("email") or "Customer")[:200],
        "email": str(customer.get("email") or "")[:320],
        "address": _address(address if isinstance(address, dict) else {}),
        "postal": postal_of(address if isinstance(address, dict) else {}),
        "tax_id": _tax_id(tax_ids.get("data") if isinstance(tax_ids, dict) else tax_ids),
    }
