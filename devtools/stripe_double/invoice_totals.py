"""Amounts of an invoice the way Stripe computes them, and the current API's shapes of its lines and items.

Why a module of its own: localstripe adds inclusive taxes on top of the price and has no per-line `taxes`; Stripe
takes an inclusive tax out of the price, rounds each line's tax for each rate (half up), and reports them per line
(`lines.data[].taxes`) and per rate (`total_taxes`). Works on localstripe's own objects (Invoice, InvoiceLineItem,
InvoiceItem, TaxRate), so subscription invoices get the same totals as one-off ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .invoice_common import JSON, decimal_string, expand, find, round_half_up


@dataclass(frozen=True)
class LineTax:
    rate: Any  # localstripe TaxRate
    amount: int
    taxable_amount: int
    inclusive: bool
    reason: str | None = None  # as posted with `tax_amounts`; else a guess from the rate

    def export(self) -> JSON:
        percentage = Decimal(str(self.rate.percentage))
        return {
            "amount": self.amount,
            "tax_behavior": "inclusive" if self.inclusive else "exclusive",
            "tax_rate_details": {"tax_rate": self.rate.id},
            "taxability_reason": self.reason or ("standard_rated" if percentage else "zero_rated"),
            "taxable_amount": self.taxable_amount,
            "type": "tax_rate_details",
        }


@dataclass(frozen=True)
class Totals:
    subtotal: int
    inclusive_tax: int
    exclusive_tax: int
    total_taxes: list[JSON]

    @property
    def total(self) -> int:
        return self.subtotal + self.exclusive_tax

    @property
    def subtotal_excluding_tax(self) -> int:
        return self.subtotal - self.inclusive_tax

    @property
    def total_excluding_tax(self) -> int:
        return self.total - self.inclusive_tax - self.exclusive_tax

    @property
    def amount_due(self) -> int:
        return max(0, self.total)


def line_rates(line: Any, invoice: Any) -> list[Any]:
    """A line's own tax rates, else the invoice's default ones (Stripe's precedence)."""
    rates = list(getattr(line, "tax_rates", None) or [])
    if not rates and invoice is not None:
        rates = list(getattr(invoice, "default_tax_rates", None) or [])
    return rates


def taxes_for(amount: int, rates: list[Any]) -> list[LineTax]:
    """Inclusive rates are inside `amount` (net = amount / (1 + Σ%)); exclusive rates apply to the net. Each tax is
    rounded half up on its own line; the last inclusive rate takes the rounding rest so net + taxes == amount."""
    inclusive = [rate for rate in rates if rate.inclusive]
    exclusive = [rate for rate in rates if not rate.inclusive]
    taxes: list[LineTax] = []
    net = amount
    if inclusive:
        share = sum((Decimal(str(rate.percentage)) for rate in inclusive), Decimal(0))
        net = round_half_up(Decimal(amount) * 100 / (100 + share))
        rest = amount - net
        for index, rate in enumerate(inclusive):
            part = rest if index == len(inclusive) - 1 else round_half_up(net * Decimal(str(rate.percentage)) / 100)
            rest -= part
            taxes.append(LineTax(rate, part, net, True))
    for rate in exclusive:
        taxes.append(LineTax(rate, round_half_up(net * Decimal(str(rate.percentage)) / 100), net, False))
    return taxes


def line_taxes(line: Any, invoice: Any) -> list[LineTax]:
    """The line's `tax_amounts` when set (taxes computed outside Stripe: reported exactly as given, never
    recomputed), else the taxes of its rates."""
    given = getattr(line, "_tax_amounts", None)
    if given:
        return list(given)
    return taxes_for(int(line.amount), line_rates(line, invoice))


def taxed_by_amounts(invoice: Any) -> bool:
    """Some line carries `tax_amounts` (invoice_lines): rates on the invoice would then mix two ways of taxing."""
    return any(getattr(line, "_tax_amounts", None) for line in invoice.lines._list)


def totals(invoice: Any) -> Totals:
    lines = list(invoice.lines._list)
    subtotal = sum(int(line.amount) for line in lines)
    inclusive = exclusive = 0
    per_rate: dict[tuple[str, bool], JSON] = {}
    for line in lines:
        for tax in line_taxes(line, invoice):
            if tax.inclusive:
                inclusive += tax.amount
            else:
                exclusive += tax.amount
            entry = per_rate.setdefault(
                (tax.rate.id, tax.inclusive), {**tax.export(), "amount": 0, "taxable_amount": 0}
            )
            entry["amount"] += tax.amount
            entry["taxable_amount"] += tax.taxable_amount
    legacy_percent = getattr(invoice, "tax_percent", None)
    if legacy_percent is not None:  # localstripe's deprecated subscription `tax_percent`
        exclusive += int(subtotal * legacy_percent / 100.0)
    return Totals(subtotal, inclusive, exclusive, list(per_rate.values()))


def unit_amount_decimal(item: Any) -> Decimal:
    """The unit price behind an item or line: the one posted, else amount / quantity."""
    posted = getattr(item, "_unit_amount_decimal", None)
    if posted is not None:
        return Decimal(posted)
    quantity = int(getattr(item, "quantity", 1) or 1)
    return Decimal(int(item.amount)) / quantity


def _price_details(item: Any) -> JSON | None:
    price = getattr(item, "_price", None)
    plan = getattr(item, "plan", None)
    if price is None and plan is not None:
        product = getattr(plan, "product", None)
        price = {"price": plan.id, "product": getattr(product, "id", product)}
    return price


def pricing(item: Any) -> JSON:
    details = _price_details(item)
    return {
        "price_details": details,
        "type": "price_details",
        "unit_amount_decimal": decimal_string(unit_amount_decimal(item)),
    }


def export_line(line: Any, invoice: Any | None = None, expand_paths: Any = None) -> JSON:
    """An invoice line in the current API shape (`parent`, `pricing`, `taxes`, `subtotal`)."""
    if invoice is None:
        invoice = find("invoice", getattr(line, "invoice", None))
    item = find("invoiceitem", getattr(line, "invoice_item", None))
    subscription = getattr(line, "subscription", None)
    if getattr(line, "type", "invoiceitem") == "subscription":
        parent = {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "invoice_item": None, "proration": False, "proration_details": {"credited_items": None},
                "subscription": subscription, "subscription_item": getattr(line, "subscription_item", None),
            },
            "invoice_item_details": None,
        }  # fmt: skip
    else:
        parent = {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": getattr(line, "invoice_item", None),
                "proration": bool(getattr(line, "proration", False)),
                "proration_details": {"credited_items": None}, "subscription": subscription,
            },
            "subscription_item_details": None,
        }  # fmt: skip
    quantity = int(getattr(line, "quantity", 1) or 0)
    exported = {
        "id": line.id,
        "object": "line_item",
        "amount": int(line.amount),
        "currency": line.currency,
        "description": line.description,
        "discount_amounts": [],
        "discountable": bool(getattr(item, "discountable", True)),
        "discounts": [],
        "invoice": getattr(line, "invoice", None),
        "livemode": bool(getattr(line, "livemode", False)),
        "metadata": dict(getattr(line, "metadata", None) or {}),
        "parent": parent,
        "period": dict(getattr(line, "period", None) or {}),
        "pretax_credit_amounts": [],
        "pricing": pricing(item if item is not None else line),
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": subscription,
        "subtotal": int(line.amount),
        "taxes": [tax.export() for tax in line_taxes(line, invoice)],
    }
    return expand(exported, expand_paths)


def export_item(item: Any, expand_paths: Any = None) -> JSON:
    """An invoice item in the current API shape (no `plan`/`price`: `pricing`; no `subscription`: `parent`)."""
    subscription = getattr(item, "subscription", None)
    quantity = int(getattr(item, "quantity", 1) or 0)
    exported = {
        "id": item.id,
        "object": "invoiceitem",
        "amount": int(item.amount),
        "currency": item.currency,
        "customer": item.customer,
        "customer_account": None,
        "date": item.date,
        "description": item.description,
        "discountable": bool(getattr(item, "discountable", True)),
        "discounts": [],
        "invoice": item.invoice,
        "livemode": bool(getattr(item, "livemode", False)),
        "metadata": dict(item.metadata or {}),
        "net_amount": int(item.amount),
        "parent": (
            {"type": "subscription_details", "subscription_details": {"subscription": subscription}}
            if subscription
            else None
        ),
        "period": dict(item.period),
        "pricing": pricing(item),
        "proration": bool(item.proration),
        "proration_details": {"credited_items": None, "discount_amounts": []},
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [rate._export() for rate in item.tax_rates or []],
        "test_clock": None,
    }
    return expand(exported, expand_paths)
