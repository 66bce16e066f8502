"""The /v1/invoiceitems endpoints with quantities, unit prices (decimal or `price_data`) and tax rates.

Why taken over: localstripe's invoice items carry one integer `amount` and cannot be added to a one-off draft,
updated into its lines, or listed by invoice. Items stay localstripe InvoiceItem objects (its subscriptions sweep
pending ones into their invoices); each item on an invoice has one localstripe InvoiceLineItem kept in step with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from localstripe import resources

from .invoice_common import JSON, emit, find, get, invalid, newest_first, round_half_up, stored
from .invoice_params import LIST_PARAMS, Params, page
from .invoice_totals import taxed_by_amounts

PRICE_PARAMS = ("amount", "unit_amount", "unit_amount_decimal", "price_data", "pricing")
UPDATE = (*PRICE_PARAMS, "description", "discountable", "metadata", "period", "quantity", "tax_rates", "tax_behavior")
CREATE = (*UPDATE, "currency", "customer", "invoice", "subscription", "tax_code")


def _draft_or_pending(item: Any, verb: str) -> Any:
    invoice = find("invoice", item.invoice)
    if invoice is not None and not invoice._draft:
        raise invalid(f"You can only {verb} invoice items on draft invoices.", code="invoice_not_editable")
    return invoice


def _rates_beside_amounts(invoice: Any, params: Params) -> None:
    """Stripe refuses tax_amounts next to tax rates (invoice_lines); the other way round is refused too, so an
    invoice never mixes them."""
    if invoice is not None and params.ids("tax_rates") and taxed_by_amounts(invoice):
        raise invalid(
            "You cannot set tax_rates on a line item of an invoice whose line items have tax_amounts.",
            param="tax_rates",
        )


def _price(params: Params, quantity: int) -> tuple[Decimal, str | None, JSON | None]:
    """The unit price, the currency it implies and the price details, from exactly one of Stripe's ways."""
    given = [name for name in PRICE_PARAMS if params.has(name)]
    if len(given) != 1:
        message = "You must specify one of amount, unit_amount_decimal, price_data or pricing[price]."
        raise invalid(
            message if not given else f"You may only specify one of: {', '.join(given)}.",
            param=given[-1] if given else "amount",
        )
    name = given[0]
    if name == "amount":
        amount = params.integer("amount")
        assert amount is not None
        if quantity != 1:
            raise invalid("You can't set `quantity` with `amount`: use `unit_amount_decimal`.", param="quantity")
        return Decimal(amount), None, None
    if name in ("unit_amount", "unit_amount_decimal"):
        unit = params.decimal(name)
        assert unit is not None
        return unit, None, None
    if name == "pricing":
        price_id = Params(params.mapping("pricing") or {}, ("price",)).text("price", required=True)
        plan = get("plan", price_id, "price", param="pricing[price]")  # localstripe's Plans stand for Prices
        return Decimal(int(plan.amount)), plan.currency, {"price": plan.id, "product": getattr(plan, "product", None)}
    data = Params(
        params.mapping("price_data") or {},
        ("currency", "product", "unit_amount", "unit_amount_decimal", "tax_behavior"),
    )
    product = get("product", data.text("product", required=True), param="price_data[product]")
    unit = data.decimal("unit_amount_decimal") if data.has("unit_amount_decimal") else data.decimal("unit_amount")
    if unit is None:
        raise invalid(
            "Missing required param: price_data[unit_amount].",
            param="price_data[unit_amount]",
            code="parameter_missing",
        )
    return unit, (data.text("currency", required=True) or "").lower(), {"price": None, "product": product.id}


def _period(params: Params) -> tuple[int | None, int | None]:
    period = params.mapping("period")
    if period is None:
        return None, None
    bounds = Params(period, ("start", "end"))
    start, end = bounds.integer("start"), bounds.integer("end")
    if start is None or end is None or end < start:
        raise invalid("The period needs a start and an end, the end not before the start.", param="period")
    return start, end


def add_line(invoice: Any, item: Any) -> None:
    item.invoice = invoice.id
    invoice.lines._list.append(resources.InvoiceLineItem(item))


def attach_pending(invoice: Any, items: list[Any]) -> None:
    """pending_invoice_items_behavior=include: the customer's pending items move onto the new draft."""
    for item in sorted(items, key=lambda item: item.created):
        add_line(invoice, item)


def refresh_line(invoice: Any, item: Any) -> None:
    """Bring the item's line in step with it. Tax amounts set on the line (invoice_lines) were computed for its
    amount: they stay while the amount does, and go when it changes, as on Stripe, rather than misstate the tax."""
    for line in invoice.lines._list:
        if getattr(line, "invoice_item", None) == item.id:
            if int(line.amount) != int(item.amount):
                line._tax_amounts = []
            for name in ("amount", "currency", "description", "tax_rates", "metadata", "quantity", "period"):
                setattr(line, name, getattr(item, name))


def _apply(item: Any, params: Params, *, creating: bool) -> None:
    """Set an item's price, quantity, taxes and texts from the parameters (all of them when creating)."""
    quantity = params.integer("quantity", None if not creating else 1, minimum=0)
    if quantity is None:
        quantity = int(item.quantity)
    if creating or any(params.has(name) for name in PRICE_PARAMS):
        unit, _, details = _price(params, quantity)
        item._unit_amount_decimal, item._price = str(unit), details
    item.quantity = quantity
    item.amount = round_half_up(Decimal(item._unit_amount_decimal) * quantity)
    if params.has("tax_rates"):
        item.tax_rates = params.tax_rates("tax_rates") or []
    if params.has("description") or creating:
        item.description = params.text("description")
    if params.has("discountable") or creating:
        item.discountable = params.boolean("discountable", True)
    if params.has("metadata"):
        item.metadata = params.metadata(item.metadata)
    start, end = _period(params)
    if start is not None:
        item.period = {"start": start, "end": end}


def create(data: JSON, _: str | None) -> Any:
    """POST /v1/invoiceitems: pending for the customer, or on a draft (`invoice=`) in its currency."""
    params = Params(data, CREATE)
    customer = get("customer", params.text("customer", required=True), param="customer")
    invoice = get("invoice", params.text("invoice"), param="invoice") if params.has("invoice") else None
    if invoice is not None and not invoice._draft:
        raise invalid(
            f"You can only add invoice items to draft invoices. Invoice {invoice.id} is {invoice.status}.",
            param="invoice",
            code="invoice_not_editable",
        )
    if invoice is not None and invoice.customer != customer.id:
        raise invalid(f"Invoice {invoice.id} belongs to another customer.", param="invoice")
    _rates_beside_amounts(invoice, params)
    quantity = params.integer("quantity", 1, minimum=0) or 0
    price_currency = _price(params, quantity)[1]
    currency = (
        params.text("currency") or price_currency or (invoice.currency if invoice else customer.currency)
    ).lower()
    if invoice is not None and currency != invoice.currency:
        raise invalid(
            f"The currency of this invoice item ({currency}) must match the currency of invoice {invoice.id} "
            f"({invoice.currency}).",
            param="currency",
        )
    subscription = params.text("subscription")
    item = resources.InvoiceItem(customer=customer.id, currency=currency, amount=0, subscription=subscription)
    _apply(item, params, creating=True)
    if invoice is not None:
        add_line(invoice, item)
    emit("invoiceitem.created", item)
    return item


def retrieve(data: JSON, ident: str | None) -> Any:
    Params(data, ())
    return get("invoiceitem", ident)


def update(data: JSON, ident: str | None) -> Any:
    """POST /v1/invoiceitems/{id}: pending items and items of drafts (`invoiceitem.updated`)."""
    item = get("invoiceitem", ident)
    params = Params(data, UPDATE)
    invoice = _draft_or_pending(item, "update")
    _rates_beside_amounts(invoice, params)
    _apply(item, params, creating=False)
    if invoice is not None:
        refresh_line(invoice, item)
    emit("invoiceitem.updated", item)
    return item


def delete(data: JSON, ident: str | None) -> JSON:
    """DELETE /v1/invoiceitems/{id}: pending items and items of drafts (`invoiceitem.deleted`)."""
    Params(data, ())
    item = get("invoiceitem", ident)
    invoice = _draft_or_pending(item, "delete")
    if invoice is not None:
        for line in [line for line in invoice.lines._list if getattr(line, "invoice_item", None) == item.id]:
            invoice.lines._list.remove(line)
            resources.store.pop(f"line_item:{line.id}", None)
    emit("invoiceitem.deleted", item)
    del resources.store[f"invoiceitem:{item.id}"]
    return {"id": item.id, "object": "invoiceitem", "deleted": True}


def list_items(data: JSON, _: str | None) -> JSON:
    """GET /v1/invoiceitems, newest first: by customer, invoice, pending (not on an invoice) and creation time."""
    params = Params(data, ("customer", "invoice", "pending", "created", *LIST_PARAMS))
    customer, invoice = params.text("customer"), params.text("invoice")
    pending = params.boolean("pending")
    created = params.created_filter()
    items = [
        item for item in stored("invoiceitem")
        if (customer is None or item.customer == customer) and (invoice is None or item.invoice == invoice)
        and (pending is None or (item.invoice is None) == pending) and created(item.created)
    ]  # fmt: skip
    return page(newest_first(items), "/v1/invoiceitems", params, lambda item: item._export(), "invoiceitem")
