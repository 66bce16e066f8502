"""localstripe's Invoice, InvoiceLineItem, InvoiceItem and Customer classes, patched to behave like Stripe's.

Why patch the classes rather than keep a parallel model: localstripe's subscriptions create, finalize and pay
invoices through these classes, and its PaymentIntents report success to `Invoice._on_payment_success`; patching
keeps one kind of invoice in the store, so subscription invoices get numbers, hosted pages, events and the current
API's shape too. Status comes from flags (`_draft`, `_voided`, `_uncollectible`, `_paid`), amounts from
invoice_totals and invoice_payments. Every extra attribute is read with a default: invoices made by localstripe's
own constructor lack them.
"""

from __future__ import annotations

import secrets
from typing import Any

from localstripe import resources

from . import invoice_payments as payments
from .invoice_common import JSON, base_url, emit, find, invalid, now, stored
from .invoice_common import expand as expand_paths
from .invoice_params import Params
from .invoice_totals import export_item, export_line, totals

ALREADY_FINALIZED = "This invoice is already finalized, you can't re-finalize a non-draft invoice."
NUMBER_MAX_LENGTH = 26  # Stripe's limit on a `number` set by hand


def status(invoice: Any) -> str:
    if invoice._draft:
        return "draft"
    if invoice._voided:
        return "void"
    if getattr(invoice, "_paid", False):
        return "paid"
    if getattr(invoice, "_uncollectible", False):
        return "uncollectible"
    return "open"


def _customer_snapshot(customer: Any) -> JSON:
    if customer is None:
        return {"email": None, "name": None, "phone": None, "address": None}
    address = getattr(customer, "address", None)
    return {"email": customer.email, "name": customer.name, "phone": customer.phone, "address": address}


def _customer_fields(invoice: Any) -> JSON:
    """Drafts show the customer as it is now; finalization freezes it (Stripe's `customer_*` fields)."""
    snapshot = getattr(invoice, "_customer_snapshot", None)
    if snapshot is None or invoice._draft:
        snapshot = _customer_snapshot(find("customer", invoice.customer))
    return {f"customer_{key}": value for key, value in snapshot.items()}


def lines_list(invoice: Any, limit: int = 10) -> JSON:
    lines = list(invoice.lines._list)
    return {
        "object": "list",
        "data": [export_line(line, invoice) for line in lines[:limit]],
        "has_more": len(lines) > limit,
        "total_count": len(lines),
        "url": f"/v1/invoices/{invoice.id}/lines",
    }


def export_invoice(invoice: Any, expand: Any = None) -> JSON:
    """The invoice in the shape of the API version the SDK pins (2026-10-28.endive): `total_taxes`, `parent`,
    `payments`, `amount_remaining`; none of the fields removed since 2025-03-31.basil (`charge`, `payment_intent`,
    `subscription`, `tax`, `total_tax_amounts`, `paid`)."""
    sums = totals(invoice)
    paid = payments.amount_paid(invoice)
    state = status(invoice)
    transitions = {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None, "voided_at": None}
    transitions.update(invoice.status_transitions)
    subscription = getattr(invoice, "subscription", None)
    exported = {
        "id": invoice.id,
        "object": "invoice",
        "account_country": None, "account_name": None, "account_tax_ids": None,
        "amount_due": sums.amount_due,
        "amount_overpaid": max(0, paid - sums.amount_due),
        "amount_paid": paid,
        "amount_remaining": max(0, sums.amount_due - paid),
        "amount_shipping": 0,
        "application": None,
        "attempt_count": getattr(invoice, "attempt_count", 0),
        "attempted": bool(getattr(invoice, "attempted", False)),
        "auto_advance": bool(getattr(invoice, "auto_advance", subscription is not None)),
        "automatic_tax": {**dict.fromkeys(("disabled_reason", "liability", "provider", "status")), "enabled": False},
        "automatically_finalizes_at": None,
        "billing_reason": invoice.billing_reason or ("subscription_create" if subscription else "manual"),
        "collection_method": invoice.collection_method,
        "confirmation_secret": None,
        "created": invoice.created,
        "currency": invoice.currency,
        "custom_fields": None,
        "customer": invoice.customer,
        "customer_account": None,
        **_customer_fields(invoice),
        "customer_shipping": None, "customer_tax_exempt": "none", "customer_tax_ids": [],
        "default_payment_method": None, "default_source": None,
        "default_tax_rates": [rate._export() for rate in invoice.default_tax_rates or []],
        "description": invoice.description,
        "discounts": [],
        "due_date": getattr(invoice, "due_date", None),
        "effective_at": getattr(invoice, "effective_at", transitions["finalized_at"]),
        "ending_balance": None if state == "draft" else 0,
        "footer": getattr(invoice, "footer", None),
        "from_invoice": None,
        "hosted_invoice_url": getattr(invoice, "hosted_invoice_url", None),
        "invoice_pdf": getattr(invoice, "invoice_pdf", None),
        "issuer": {"type": "self"},
        "last_finalization_error": None, "latest_revision": None,
        "lines": lines_list(invoice),
        "livemode": bool(getattr(invoice, "livemode", False)),
        "metadata": dict(invoice.metadata or {}),
        "next_payment_attempt": None,
        "number": getattr(invoice, "number", None),
        "on_behalf_of": None,
        "parent": (
            {"type": "subscription_details", "quote_details": None,
             "subscription_details": {"metadata": {}, "subscription": subscription}}
            if subscription else None
        ),
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "period_end": invoice.period_end or invoice.created,
        "period_start": invoice.period_start or invoice.created,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "receipt_number": None, "rendering": None, "shipping_cost": None, "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": invoice.statement_descriptor,
        "status": state,
        "status_details": None,
        "status_transitions": transitions,
        "subtotal": sums.subtotal,
        "subtotal_excluding_tax": sums.subtotal_excluding_tax,
        "test_clock": None, "threshold_reason": None,
        "total": sums.total,
        "total_discount_amounts": [],
        "total_excluding_tax": sums.total_excluding_tax,
        "total_pretax_credit_amounts": [],
        "total_taxes": sums.total_taxes,
        "webhooks_delivered_at": invoice.webhooks_delivered_at,
    }  # fmt: skip
    paths = [expand] if isinstance(expand, str) else list(expand or [])
    if "amount_paid_off_stripe" in paths:  # includable only, like Stripe's
        paths.remove("amount_paid_off_stripe")
        exported["amount_paid_off_stripe"] = int(getattr(invoice, "_paid_out_of_band", 0))
    if any(path == "payments" or path.startswith("payments.") for path in paths):  # includable too
        exported["payments"] = payments.payments_list(invoice)
        paths = [path for path in paths if path != "payments"]
    return expand_paths(exported, paths)


def _new_prefix() -> str:
    taken = {getattr(customer, "_invoice_prefix", None) for customer in stored("customer")}
    while True:
        prefix = secrets.token_hex(4).upper()
        if prefix not in taken:
            return prefix


def _get_prefix(customer: Any) -> str:
    """Stripe gives each customer a unique invoice prefix (8 characters) and numbers its invoices PREFIX-0001, …"""
    prefix = getattr(customer, "_invoice_prefix", None)
    if prefix is None:
        prefix = customer._invoice_prefix = _new_prefix()
    return str(prefix)


def _set_prefix(customer: Any, value: str) -> None:
    if not (isinstance(value, str) and 3 <= len(value) <= 12 and value.isalnum() and value == value.upper()):
        raise invalid("Invoice prefix must be 3–12 uppercase letters or numbers.", param="invoice_prefix")
    if any(getattr(other, "_invoice_prefix", None) == value for other in stored("customer") if other is not customer):
        raise invalid(f"The invoice prefix {value} is already used by another customer.", param="invoice_prefix")
    customer._invoice_prefix = value


def _get_sequence(customer: Any) -> int:
    return int(getattr(customer, "_next_invoice_sequence", 1))


def _set_sequence(customer: Any, value: Any) -> None:
    try:
        customer._next_invoice_sequence = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param="next_invoice_sequence") from None


def _numbered(number: str, besides: Any = None) -> Any:
    return next(
        (other for other in stored("invoice") if other is not besides and getattr(other, "number", None) == number),
        None,
    )


def check_number(params: Params, invoice: Any = None) -> str | None:
    """A `number` posted for a draft (create or update); "" removes it, so finalization assigns one. Refused when
    another invoice of the account, draft or finalized, has it: numbers identify invoices, to the customer too."""
    number = params.text("number", max_length=NUMBER_MAX_LENGTH)
    if number is not None and _numbered(number, invoice) is not None:
        raise invalid(f"The invoice number {number} is already used by another invoice.", param="number")
    return number


def finalize(invoice: Any) -> None:
    """draft → open: number, hosted page and PDF addresses, frozen customer details, `invoice.finalized`; an
    invoice with nothing due is paid at once (`invoice.paid`), as on Stripe."""
    if not invoice._draft:
        raise invalid(ALREADY_FINALIZED, code="invoice_not_editable")
    invoice._draft = False
    at = now()
    invoice.status_transitions["finalized_at"] = at
    invoice.effective_at = at
    customer = find("customer", invoice.customer)
    invoice._customer_snapshot = _customer_snapshot(customer)
    invoice.customer_email = invoice._customer_snapshot["email"]
    if customer is not None and not getattr(invoice, "number", None):
        sequence = _get_sequence(customer)
        while _numbered(f"{_get_prefix(customer)}-{sequence:04d}") is not None:
            sequence += 1  # taken by a number set by hand on another invoice: the next free one, never a duplicate
        invoice.number = f"{_get_prefix(customer)}-{sequence:04d}"
        customer._next_invoice_sequence = sequence + 1
    invoice.hosted_invoice_url = f"{base_url.get()}/invoice/{invoice.id}"
    invoice.invoice_pdf = f"{base_url.get()}/invoice/{invoice.id}/pdf"
    emit("invoice.finalized", invoice)
    if totals(invoice).amount_due <= 0:
        payments.mark_paid(invoice, invoice._export(), payment_succeeded=True)


def _on_payment_success(invoice: Any) -> None:
    payments.settle(invoice)


def _on_payment_failure(invoice: Any) -> None:
    """A PaymentIntent of this invoice failed: `invoice.payment_failed`, then localstripe's subscription rules."""
    emit("invoice.payment_failed", invoice)
    subscription = find("subscription", getattr(invoice, "subscription", None))
    if subscription is None:
        return
    if subscription.status == "incomplete":
        subscription._on_initial_payment_failure_now(invoice)
    else:
        subscription._on_recurring_payment_failure(invoice)


def _on_payment_failure_later(invoice: Any) -> None:
    emit("invoice.payment_failed", invoice)
    subscription = find("subscription", getattr(invoice, "subscription", None))
    if subscription is None:
        return
    if subscription.status == "incomplete":
        subscription._on_initial_payment_failure_later(invoice)
    else:
        subscription._on_recurring_payment_failure(invoice)


def patch() -> None:
    """Install the behaviour above on localstripe's classes (once per process)."""
    invoice_cls = resources.Invoice
    if getattr(invoice_cls, "_invoicing_patched", False):
        return
    invoice_cls._invoicing_patched = True
    invoice_cls.status = property(status)
    invoice_cls.subtotal = property(lambda self: totals(self).subtotal)
    invoice_cls.tax = property(lambda self: totals(self).inclusive_tax + totals(self).exclusive_tax)
    invoice_cls.total = property(lambda self: totals(self).total)
    invoice_cls.amount_due = property(lambda self: totals(self).amount_due)
    invoice_cls.amount_paid = property(payments.amount_paid)
    invoice_cls._export = export_invoice
    invoice_cls._finalize = finalize
    invoice_cls._on_payment_success = _on_payment_success
    invoice_cls._on_payment_failure_now = _on_payment_failure
    invoice_cls._on_payment_failure_later = _on_payment_failure_later
    resources.InvoiceLineItem._export = lambda self, expand=None: export_line(self, None, expand)
    resources.InvoiceItem._export = lambda self, expand=None: export_item(self, expand)
    resources.Customer.invoice_prefix = property(_get_prefix, _set_prefix)
    resources.Customer.next_invoice_sequence = property(_get_sequence, _set_sequence)
