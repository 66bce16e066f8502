"""The /v1/invoices endpoints: one-off drafts, updates, lists, and every status transition with its events.

Each handler takes the request's parameters (already decoded) and the id in the path, checks them the way Stripe
does (unknown parameters and illegal transitions refused with 400 invalid_request_error), changes localstripe's
objects in the current store and returns the object (or list) to send back.
"""

from __future__ import annotations

from typing import Any

from localstripe import resources

from . import invoice_payments as payments
from .invoice_charge import charge
from .invoice_common import JSON, changed, emit, find, get, invalid, newest_first, now, stored
from .invoice_items import attach_pending
from .invoice_model import check_number, finalize
from .invoice_params import LIST_PARAMS, Params, page
from .invoice_totals import export_line, taxed_by_amounts

DAY = 86400
COLLECTION = ("charge_automatically", "send_invoice")
STATUSES = ("draft", "open", "paid", "uncollectible", "void")
CREATE = (
    "customer", "auto_advance", "collection_method", "currency", "days_until_due", "due_date", "description",
    "metadata", "pending_invoice_items_behavior", "default_tax_rates", "footer", "statement_descriptor",
    "subscription", "number",
)  # fmt: skip
EDITABLE_WHEN_FINALIZED = {"metadata", "description", "footer", "auto_advance", "days_until_due", "due_date"}


def _invoice(ident: str | None) -> Any:
    return get("invoice", ident)


def _due(collection: str, days: int | None, due_date: int | None, created: int) -> int | None:
    """send_invoice needs a due date (given or from days_until_due); charge_automatically has none."""
    if collection == "charge_automatically":
        if days is not None or due_date is not None:
            param = "days_until_due" if days is not None else "due_date"
            raise invalid(f"You can only set `{param}` on invoices with `collection_method=send_invoice`.", param=param)
        return None
    if days is not None and due_date is not None:
        raise invalid("You can't set both `days_until_due` and `due_date`.", param="due_date")
    if days is None and due_date is None:
        raise invalid(
            "Invoices with `collection_method=send_invoice` need a `days_until_due` or a `due_date`.",
            param="days_until_due", code="parameter_missing",
        )  # fmt: skip
    return due_date if due_date is not None else created + (days or 0) * DAY


def create(data: JSON, _: str | None) -> Any:
    """POST /v1/invoices: a draft (`invoice.created`). With `subscription`, localstripe's own subscription draft."""
    params = Params(data, CREATE)
    if params.has("subscription"):
        legacy = ("customer", "subscription", "default_tax_rates", "description", "metadata")
        extra = sorted(set(data) - set(legacy) - {"pending_invoice_items_behavior"})
        if extra:
            raise invalid(f"The local Stripe double doesn't support {extra[0]} with subscription.", param=extra[0])
        return resources.Invoice._api_create(**{key: data[key] for key in legacy if key in data})
    customer = get("customer", params.text("customer", required=True), param="customer")
    collection = params.choice("collection_method", COLLECTION, "charge_automatically") or "charge_automatically"
    days = params.integer("days_until_due", minimum=0)
    due_date = _due(collection, days, params.integer("due_date"), now())
    behavior = params.choice("pending_invoice_items_behavior", ("exclude", "include"), "exclude")
    rates = params.tax_rates("default_tax_rates") or []
    metadata = params.metadata() or {}
    number = check_number(params)  # before the invoice exists: a refused number must leave nothing behind
    pending = [
        item for item in stored("invoiceitem") if item.customer == customer.id and item.invoice is None
    ] if behavior == "include" else []  # fmt: skip
    currency = (params.text("currency") or (pending[0].currency if pending else customer.currency)).lower()

    invoice = resources.Invoice.__new__(resources.Invoice)
    resources.StripeObject.__init__(invoice)  # id, created, livemode, and its place in the store
    for name, value in {
        "customer": customer.id, "customer_email": customer.email, "subscription": None, "tax_percent": None,
        "default_tax_rates": rates, "date": invoice.created, "metadata": metadata, "payment_intent": None,
        "application_fee": None, "attempt_count": 0, "attempted": False, "billing_reason": "manual",
        "collection_method": collection, "description": params.text("description"), "discount": None,
        "receipt_number": None, "starting_balance": 0, "statement_descriptor": params.text("statement_descriptor"),
        "webhooks_delivered_at": None, "period_start": invoice.created, "period_end": invoice.created,
        "status_transitions": dict.fromkeys(("finalized_at", "marked_uncollectible_at", "paid_at", "voided_at")),
        "lines": resources.List(f"/v1/invoices/{invoice.id}/lines"), "currency": currency, "_draft": True,
        "_voided": False, "_uncollectible": False, "_paid": False, "_paid_out_of_band": 0, "ending_balance": None,
        "auto_advance": bool(params.boolean("auto_advance", False)), "days_until_due": days, "due_date": due_date,
        "footer": params.text("footer"), "number": number, "hosted_invoice_url": None, "invoice_pdf": None,
        "effective_at": None,
    }.items():  # fmt: skip
        setattr(invoice, name, value)
    attach_pending(invoice, [item for item in pending if item.currency == currency])
    emit("invoice.created", invoice)
    return invoice


def retrieve(data: JSON, ident: str | None) -> Any:
    Params(data, ())
    return _invoice(ident)


def update(data: JSON, ident: str | None) -> Any:
    """POST /v1/invoices/{id}: drafts are editable (`number` too); finalized invoices only keep metadata,
    description, footer, auto_advance and (send_invoice, still open) the due date. Emits `invoice.updated` with
    previous_attributes."""
    invoice = _invoice(ident)
    allowed = set(CREATE) - {"customer", "subscription", "pending_invoice_items_behavior", "currency"}
    params = Params(data, allowed)
    if not invoice._draft:
        frozen = sorted(set(data) - EDITABLE_WHEN_FINALIZED)
        if invoice.status != "open":
            frozen = sorted(set(data) - {"metadata", "description", "footer"})
        if frozen:
            raise invalid(
                "Finalized invoices can't be updated in this way", param=frozen[0], code="invoice_not_editable"
            )
    number = check_number(params, invoice) if params.has("number") else None  # checked before anything changes
    rates = params.tax_rates("default_tax_rates") if params.has("default_tax_rates") else None
    if rates and taxed_by_amounts(invoice):  # the other half of Stripe's rule in invoice_lines
        raise invalid(
            "You cannot set default_tax_rates on an invoice whose line items have tax_amounts.",
            param="default_tax_rates",
        )
    before = invoice._export()
    collection = params.choice("collection_method", COLLECTION, invoice.collection_method) or invoice.collection_method
    if any(params.has(name) for name in ("collection_method", "days_until_due", "due_date")):
        days = params.integer("days_until_due", minimum=0)
        due_date = params.integer("due_date")
        if not params.has("days_until_due") and not params.has("due_date") and collection == "send_invoice":
            days = getattr(invoice, "days_until_due", None)
            due_date = getattr(invoice, "due_date", None) if days is None else None
        invoice.due_date = _due(collection, days, due_date, invoice.created)
        invoice.days_until_due, invoice.collection_method = days, collection
    if rates is not None:
        invoice.default_tax_rates = rates
    for name in ("description", "footer", "statement_descriptor"):
        if params.has(name):
            setattr(invoice, name, params.text(name))
    if params.has("auto_advance"):
        invoice.auto_advance = params.boolean("auto_advance")
    if params.has("metadata"):
        invoice.metadata = params.metadata(invoice.metadata)
    if params.has("number"):
        invoice.number = number
    previous = changed(before, invoice._export())
    if previous:
        emit("invoice.updated", invoice, previous)
    return invoice


def delete(data: JSON, ident: str | None) -> JSON:
    """DELETE /v1/invoices/{id}: drafts only (`invoice.deleted`); their invoice items go with them."""
    Params(data, ())
    invoice = _invoice(ident)
    if not invoice._draft:
        raise invalid("You can only delete draft invoices.", code="invoice_not_editable")
    if getattr(invoice, "subscription", None):
        raise invalid("You can't delete invoices created by subscriptions.", code="invoice_not_editable")
    emit("invoice.deleted", invoice)
    for line in invoice.lines._list:
        item = find("invoiceitem", getattr(line, "invoice_item", None))
        if item is not None:
            emit("invoiceitem.deleted", item)
            del resources.store[f"invoiceitem:{item.id}"]
        resources.store.pop(f"line_item:{line.id}", None)
    del resources.store[f"invoice:{invoice.id}"]
    return {"id": invoice.id, "object": "invoice", "deleted": True}


def list_invoices(data: JSON, _: str | None) -> JSON:
    """GET /v1/invoices, newest first, with Stripe's filters and cursors."""
    params = Params(
        data, ("customer", "status", "created", "collection_method", "subscription", "due_date", *LIST_PARAMS)
    )
    customer = params.text("customer")
    state = params.choice("status", STATUSES)
    collection = params.choice("collection_method", COLLECTION)
    subscription = params.text("subscription")
    created = params.created_filter()
    due = params.created_filter("due_date")
    invoices = [
        invoice for invoice in stored("invoice")
        if (customer is None or invoice.customer == customer) and (state is None or invoice.status == state)
        and (collection is None or invoice.collection_method == collection)
        and (subscription is None or getattr(invoice, "subscription", None) == subscription)
        and created(invoice.created)
        and (not params.has("due_date") or (getattr(invoice, "due_date", None) is not None and due(invoice.due_date)))
    ]  # fmt: skip
    return page(newest_first(invoices), "/v1/invoices", params, lambda invoice: invoice._export(), "invoice")


def lines(data: JSON, ident: str | None) -> JSON:
    """GET /v1/invoices/{id}/lines, in the order they were added."""
    invoice = _invoice(ident)
    params = Params(data, LIST_PARAMS)
    url = f"/v1/invoices/{invoice.id}/lines"
    return page(list(invoice.lines._list), url, params, lambda line: export_line(line, invoice), "line_item")


def finalize_invoice(data: JSON, ident: str | None) -> Any:
    """POST /v1/invoices/{id}/finalize → open (`invoice.finalized`)."""
    params = Params(data, ("auto_advance",))
    invoice = _invoice(ident)
    finalize(invoice)
    if params.has("auto_advance"):
        invoice.auto_advance = params.boolean("auto_advance")
    return invoice


def send(data: JSON, ident: str | None) -> Any:
    """POST /v1/invoices/{id}/send: `invoice.sent` (no e-mail, as in Stripe's test mode); finalizes a draft first."""
    Params(data, ())
    invoice = _invoice(ident)
    if invoice.collection_method != "send_invoice":
        raise invalid("You can only manually send an invoice if its collection method is 'send_invoice'.")
    if invoice.status == "void":
        raise invalid("You can't send a void invoice.", code="invoice_not_editable")
    if invoice._draft:
        finalize(invoice)
    emit("invoice.sent", invoice)
    return invoice


def pay(data: JSON, ident: str | None) -> Any:
    """POST /v1/invoices/{id}/pay: out of band, or a charge on the given / default payment method. A draft is
    finalized first; an uncollectible invoice can still be paid."""
    params = Params(data, ("paid_out_of_band", "payment_method", "source", "forgive", "off_session", "mandate"))
    invoice = _invoice(ident)
    if invoice.status == "paid":
        raise invalid("Invoice is already paid", code="invoice_already_paid")
    if invoice.status == "void":
        raise invalid("You can't pay a void invoice.", code="invoice_not_editable")
    if invoice._draft:
        finalize(invoice)
        if invoice.status == "paid":
            return invoice
    if params.boolean("paid_out_of_band", False):
        before = invoice._export()
        invoice._paid_out_of_band = max(0, invoice.amount_due - payments.amount_paid(invoice))
        payments.mark_paid(invoice, before, payment_succeeded=True)
        return invoice
    charge(invoice, params.text("payment_method") or params.text("source"))
    return invoice


def void(data: JSON, ident: str | None) -> Any:
    """POST /v1/invoices/{id}/void: open or uncollectible → void (`invoice.voided`, `invoice.updated`)."""
    Params(data, ())
    invoice = _invoice(ident)
    if invoice.status not in ("open", "uncollectible"):
        hint = " Delete a draft invoice instead." if invoice._draft else ""
        raise invalid(
            f"You can only void open or uncollectible invoices. This invoice is {invoice.status}.{hint}",
            code="invoice_not_editable",
        )
    if payments.amount_paid(invoice):
        raise invalid("You can't void an invoice that has been partially paid.", code="invoice_not_editable")
    before = invoice._export()
    payments.cancel_open(invoice)
    invoice._voided = True
    invoice.status_transitions["voided_at"] = now()
    subscription = find("subscription", getattr(invoice, "subscription", None))
    if subscription is not None:
        subscription._on_initial_payment_voided(invoice)
    emit("invoice.updated", invoice, changed(before, invoice._export()))
    emit("invoice.voided", invoice)
    return invoice


def mark_uncollectible(data: JSON, ident: str | None) -> Any:
    """POST /v1/invoices/{id}/mark_uncollectible: open → uncollectible (`invoice.marked_uncollectible`)."""
    Params(data, ())
    invoice = _invoice(ident)
    if invoice.status != "open":
        raise invalid(
            f"You can only mark open invoices as uncollectible. This invoice is {invoice.status}.",
            code="invoice_not_editable",
        )
    before = invoice._export()
    invoice._uncollectible = True
    invoice.status_transitions["marked_uncollectible_at"] = now()
    emit("invoice.updated", invoice, changed(before, invoice._export()))
    emit("invoice.marked_uncollectible", invoice)
    return invoice
