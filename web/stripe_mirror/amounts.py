"""A portal invoice's lines as Stripe invoice items, with taxes that make Stripe's totals ours to the cent.

Why tax amounts and not tax rates: Stripe rounds each line's tax on its own; the portal (EN 16931) rounds the VAT
of each rate once, on the sum of that rate's lines. The two can differ by a cent per line, and then the customer
would owe one amount in the portal and another in Stripe. So each rate's VAT, as the portal computed it, is spread
over that rate's lines and set on them with Stripe's `tax_amounts` (its way for taxes calculated elsewhere); the
rate itself travels in `tax_rate_data`, so Stripe's invoice still names 19 % on each line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from db.invoices import InvoiceLine
from web.invoices.money import get_currency
from web.invoices.totals import Totals, round_to_step

TAX_NAME = "VAT"


@dataclass(frozen=True, slots=True)
class StripeLine:
    line_id: int
    item: dict[str, Any]  # the invoice item's parameters (without customer and invoice)
    net: int
    tax: int
    rate: Decimal


def stripe_lines(lines: list[InvoiceLine], totals: Totals, currency: str) -> list[StripeLine]:
    taxes = spread_taxes(lines, totals, currency)
    made = []
    for line, net, tax in zip(lines, totals.line_nets, taxes, strict=True):
        made.append(StripeLine(line.id, _item(line, net, currency), net, tax, line.tax_rate.normalize()))
    return made


def _item(line: InvoiceLine, net: int, currency: str) -> dict[str, Any]:
    """Quantity × unit price when Stripe's integer quantities give exactly our net; else the net as one amount
    (a quantity of 1.5 hours, a currency rounded to 5 cents), with the quantity kept in the description."""
    quantity = line.quantity.normalize()
    item: dict[str, Any] = {
        "currency": currency.lower(),
        "description": line.description,
        "metadata": {"portal_line_id": str(line.id)},
    }
    whole = quantity == quantity.to_integral_value() and quantity >= 1
    if whole and line.unit_price >= 0 and int(quantity) * line.unit_price == net:
        return {**item, "quantity": int(quantity), "unit_amount_decimal": str(line.unit_price)}
    return {**item, "amount": net, "description": f"{line.description} ({quantity:f} × {line.unit_price})"[:5000]}


def spread_taxes(lines: list[InvoiceLine], totals: Totals, currency: str) -> list[int]:
    """Each line's share of its group's VAT (category and rate), so a group's lines add up to exactly the VAT the
    document shows for it: each share rounded on its own (to the currency's step), then the rounding rest handed
    out one step at a time to the lines whose shares were rounded furthest the other way (so no share takes the
    wrong sign)."""
    step = get_currency(currency).rounding_step
    exact = [Decimal(net) * line.tax_rate / 100 for line, net in zip(lines, totals.line_nets, strict=True)]
    shares = [round_to_step(value, step) for value in exact]
    for group in totals.tax_groups:
        members = [
            index
            for index, line in enumerate(lines)
            if line.tax_rate.normalize() == group.rate and line.tax_category == group.category
        ]
        rest = group.tax - sum(shares[index] for index in members)
        if not members or rest == 0:
            continue
        direction = 1 if rest > 0 else -1
        order = sorted(members, key=lambda index: (exact[index] - shares[index]) * direction, reverse=True)
        for turn in range(abs(rest) // step):
            shares[order[turn % len(order)]] += direction * step
    return shares


def tax_amounts(line: StripeLine) -> list[dict[str, Any]]:
    """Stripe's `tax_amounts` for one line (a 0 % line keeps its rate too, so Stripe shows it as zero-rated)."""
    return [
        {
            "amount": line.tax,
            "taxable_amount": line.net,
            # Plain digits: str(Decimal("2E+1")) would send "2E+1" for 20 %.
            "tax_rate_data": {"display_name": TAX_NAME, "percentage": format(line.rate, "f"), "inclusive": False},
        }
    ]


def line_taxes_match(stripe_line: dict[str, Any], line: StripeLine) -> bool:
    """The Stripe line already carries exactly these tax amounts (set before a retry)."""
    taxes = stripe_line.get("taxes") or []
    return len(taxes) == 1 and int(taxes[0].get("amount", -1)) == line.tax
