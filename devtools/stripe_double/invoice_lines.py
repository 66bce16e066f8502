"""POST /v1/invoices/{invoice}/lines/{line_item_id}: a draft's line, its description, metadata and `tax_amounts`.

Why tax amounts live on the line: Stripe keeps them on the invoice line only (not on the invoice item), for taxes
computed outside Stripe; the invoice's totals then report exactly those amounts instead of computing them from tax
rates (invoice_totals.line_taxes). Each amount names its rate by `tax_rate_data`, which Stripe finds or creates as an
archived TaxRate, so the line's `taxes` name a rate that GET /v1/tax_rates/{id} serves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from localstripe import resources

from .invoice_common import JSON, changed, emit, find, get, invalid, missing, stored
from .invoice_items import refresh_line
from .invoice_params import Params
from .invoice_totals import LineTax

UPDATE = ("description", "metadata", "tax_amounts")
TAX_AMOUNT = ("amount", "taxable_amount", "tax_rate_data", "taxability_reason")
RATE_DATA = (
    "country", "description", "display_name", "inclusive", "jurisdiction", "jurisdiction_level", "percentage",
    "state", "tax_type",
)  # fmt: skip
TAXABILITY = (
    "customer_exempt", "not_collecting", "not_subject_to_tax", "not_supported", "portion_product_exempt",
    "portion_reduced_rated", "portion_standard_rated", "product_exempt", "product_exempt_holiday",
    "proportionally_rated", "reduced_rated", "reverse_charge", "standard_rated", "taxable_basis_reduced", "zero_rated",
)  # fmt: skip
JURISDICTION_LEVELS = ("city", "country", "county", "district", "multiple", "state")
MAX_TAX_AMOUNTS = 20  # Stripe's limit per line


def update_line(data: JSON, ident: str | None, line: str) -> Any:
    """Lines of drafts only. An invoice item's line shows its item, so a new description or metadata goes to the
    item (as Stripe propagates it, `invoiceitem.updated`); a subscription line's metadata is replaced, not merged,
    as Stripe documents. `invoice.updated` when the invoice's amounts change."""
    invoice = get("invoice", ident)
    params = Params(data, UPDATE)
    found = next((each for each in invoice.lines._list if each.id == line), None)
    if found is None:
        raise missing("invoice line item", line)
    if not invoice._draft:
        raise invalid(
            f"You can only update the lines of draft invoices. Invoice {invoice.id} is {invoice.status}.",
            code="invoice_not_editable",
        )
    taxes = _tax_amounts(params.raw("tax_amounts"), invoice) if params.has("tax_amounts") else None
    description = params.text("description")
    before = invoice._export()
    item = find("invoiceitem", getattr(found, "invoice_item", None))
    if item is not None and (params.has("description") or params.has("metadata")):
        if params.has("description"):
            item.description = description
        if params.has("metadata"):
            item.metadata = params.metadata(item.metadata)
        refresh_line(invoice, item)  # the amount is unchanged: tax amounts already on the line stay
        emit("invoiceitem.updated", item)
    elif item is None:
        if params.has("description"):
            found.description = description
        if params.has("metadata"):
            found.metadata = params.metadata({})
    if taxes is not None:
        found._tax_amounts = taxes
    previous = changed(before, invoice._export())
    if previous:
        emit("invoice.updated", invoice, previous)
    return found


def _tax_amounts(value: Any, invoice: Any) -> list[LineTax]:
    """Stripe's rules: "" (or an empty list) removes them; none on an invoice that taxes by rates, since its
    totals would then mix both ways of taxing."""
    if value == "" or value == []:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise invalid("Invalid array: tax_amounts", param="tax_amounts")
    if len(value) > MAX_TAX_AMOUNTS:
        raise invalid(f"A line item can have at most {MAX_TAX_AMOUNTS} tax_amounts.", param="tax_amounts")
    if invoice.default_tax_rates:
        raise invalid(
            "You cannot set tax_amounts on the line items of an invoice that has default_tax_rates.",
            param="tax_amounts",
        )
    if any(getattr(line, "tax_rates", None) for line in invoice.lines._list):
        raise invalid("You cannot set tax_amounts on an invoice whose line items have tax_rates.", param="tax_amounts")
    return [_tax_amount(Params(entry, TAX_AMOUNT, f"tax_amounts[{index}]")) for index, entry in enumerate(value)]


def _tax_amount(entry: Params) -> LineTax:
    entry.require("amount", "taxable_amount", "tax_rate_data")
    amount, taxable = entry.integer("amount"), entry.integer("taxable_amount")
    reason = entry.choice("taxability_reason", TAXABILITY)
    data = entry.nested("tax_rate_data", RATE_DATA)
    assert data is not None and amount is not None and taxable is not None
    data.require("display_name", "inclusive", "percentage")
    inclusive = bool(data.boolean("inclusive"))
    percentage = data.decimal("percentage")
    assert percentage is not None
    if not Decimal(0) <= percentage <= Decimal(100) or int(percentage.normalize().as_tuple().exponent) < -4:
        raise invalid(
            "The percentage must be between 0 and 100, with at most 4 decimal places.",
            param=data.name("percentage"),
        )
    return LineTax(_rate(data, inclusive, percentage), amount, taxable, inclusive, reason)


def _rate(data: Params, inclusive: bool, percentage: Decimal) -> Any:
    """The TaxRate made earlier from exactly this `tax_rate_data`, else a new one, archived (active=false) as Stripe
    makes them. Only such rates are reused, never one the account created itself, and they cannot be applied by id
    (Params.tax_rates refuses them), as on Stripe."""
    wanted = {
        "display_name": data.text("display_name"),
        "inclusive": inclusive,
        "percentage": float(percentage),  # localstripe keeps percentages as floats
        "jurisdiction": data.text("jurisdiction"),
        "jurisdiction_level": data.choice("jurisdiction_level", JURISDICTION_LEVELS),
        "country": data.text("country"),
        "state": data.text("state"),
        "description": data.text("description"),
        "tax_type": data.text("tax_type"),
    }
    for rate in stored("tax_rate"):
        if getattr(rate, "_from_tax_rate_data", False) and all(
            getattr(rate, key, None) == value for key, value in wanted.items()
        ):
            return rate
    rate = resources.TaxRate(
        display_name=wanted["display_name"], inclusive=inclusive, percentage=wanted["percentage"], active=False,
        description=wanted["description"], jurisdiction=wanted["jurisdiction"],
    )  # fmt: skip
    for key in ("jurisdiction_level", "country", "state", "tax_type"):  # Stripe's fields localstripe's rate lacks
        setattr(rate, key, wanted[key])
    rate._from_tax_rate_data = True
    return rate
