"""Payments of an invoice (Stripe's InvoicePayment objects, the "partial payments" API of 2025-05-28.basil).

Why: an invoice's `amount_paid` is the sum of its payments that succeeded (plus what was paid out of band), so
`attach_payment` can pay it in parts and `pay` is one more payment. A PaymentIntent attached before it succeeds is
credited when it does: localstripe calls `Invoice._on_payment_success` for the PaymentIntent's `invoice`, which the
model patches to `settle`. A PaymentRecord (a payment made outside Stripe, payment_records.py) is credited when
attached: only guaranteed ones are taken. InvoicePayments live in the store like localstripe's own objects.
"""

from __future__ import annotations

from typing import Any

from localstripe import resources

from .invoice_common import JSON, changed, emit, find, get, invalid, newest_first, now, stored
from .invoice_common import expand as expand_paths
from .invoice_params import Params, page


class InvoicePayment(resources.StripeObject):  # type: ignore[misc]  # localstripe ships no type information
    """One PaymentIntent (open until it succeeds or is canceled) or one PaymentRecord (paid at once) applied to
    one invoice."""

    object = "invoice_payment"
    _id_prefix = "inpay_"

    def __init__(
        self,
        invoice: str,
        payment_intent: str | None,
        amount: int,
        currency: str,
        is_default: bool,
        payment_record: str | None = None,
    ) -> None:
        super().__init__()
        self.invoice = invoice
        self.payment_intent = payment_intent
        self.payment_record = payment_record
        self.amount_requested = amount
        self.amount_paid: int | None = None
        self.currency = currency
        self.is_default = is_default
        self.status = "open"
        self.status_transitions: dict[str, int | None] = {"canceled_at": None, "paid_at": None}

    def _export(self, expand: Any = None) -> JSON:
        exported = {
            "id": self.id,
            "object": "invoice_payment",
            "amount_paid": self.amount_paid,
            "amount_requested": self.amount_requested,
            "created": self.created,
            "currency": self.currency,
            "invoice": self.invoice,
            "is_default": self.is_default,
            "livemode": bool(getattr(self, "livemode", False)),
            "payment": (
                {"type": "payment_record", "payment_record": self.payment_record}
                if self.payment_record is not None
                else {"type": "payment_intent", "payment_intent": self.payment_intent}
            ),
            "status": self.status,
            "status_transitions": dict(self.status_transitions),
        }
        return expand_paths(exported, expand)


def payments_of(invoice_id: str | None) -> list[InvoicePayment]:
    return [payment for payment in stored("invoice_payment") if payment.invoice == invoice_id]


def amount_paid(invoice: Any) -> int:
    paid = sum(int(payment.amount_paid or 0) for payment in payments_of(invoice.id) if payment.status == "paid")
    return paid + int(getattr(invoice, "_paid_out_of_band", 0))


def payments_list(invoice: Any) -> JSON:
    payments = newest_first(payments_of(invoice.id))
    return {
        "object": "list",
        "data": [payment._export() for payment in payments[:10]],
        "has_more": len(payments) > 10,
        "total_count": len(payments),
        "url": f"/v1/invoice_payments?invoice={invoice.id}",
    }


def record(invoice: Any, intent: Any, *, is_default: bool) -> InvoicePayment:
    intent.invoice = invoice.id  # localstripe then reports the intent's success or failure to this invoice
    return InvoicePayment(invoice.id, intent.id, int(intent.amount), intent.currency, is_default)


def settle(invoice: Any) -> None:
    """Credit every attached PaymentIntent that has succeeded, then mark the invoice paid if nothing remains.
    Called whenever one of its PaymentIntents succeeds (and after attaching one)."""
    legacy = getattr(invoice, "payment_intent", None)  # set by localstripe's own subscription payment path
    if legacy and not any(payment.payment_intent == legacy for payment in payments_of(invoice.id)):
        intent = find("payment_intent", legacy)
        if intent is not None:
            record(invoice, intent, is_default=True)
    succeeded = []
    for payment in payments_of(invoice.id):
        intent = find("payment_intent", payment.payment_intent)
        if payment.status != "open" or intent is None:
            continue
        if intent.status == "succeeded":
            succeeded.append((payment, intent))
        elif intent.status == "canceled":
            payment.status, payment.status_transitions["canceled_at"] = "canceled", now()
    if not succeeded:
        if invoice.status in ("open", "uncollectible") and invoice.amount_due <= amount_paid(invoice):
            mark_paid(invoice, invoice._export(), payment_succeeded=True)  # e.g. localstripe's zero-amount path
        return
    credit(invoice, [(payment, int(intent.amount)) for payment, intent in succeeded])


def credit(invoice: Any, paid: list[tuple[InvoicePayment, int]]) -> None:
    """These payments are paid (`invoice_payment.paid` each); the invoice is then paid if nothing remains, else
    `invoice.updated` says what its amounts are now."""
    before = invoice._export()
    for payment, amount in paid:
        payment.status, payment.amount_paid = "paid", amount
        payment.status_transitions["paid_at"] = now()
        emit("invoice_payment.paid", payment)
    if invoice.status in ("open", "uncollectible") and invoice.amount_due <= amount_paid(invoice):
        mark_paid(invoice, before, payment_succeeded=True)
    else:
        emit("invoice.updated", invoice, changed(before, invoice._export()))


def mark_paid(invoice: Any, before: JSON, *, payment_succeeded: bool) -> None:
    """Open or uncollectible → paid: `invoice.updated`, `invoice.paid`, `invoice.payment_succeeded`."""
    invoice._paid = True
    invoice._uncollectible = False
    invoice.status_transitions["paid_at"] = now()
    emit("invoice.updated", invoice, changed(before, invoice._export()))
    emit("invoice.paid", invoice)
    if payment_succeeded:
        emit("invoice.payment_succeeded", invoice)
    if getattr(invoice, "subscription", None):  # what localstripe's own success hook did
        subscription = find("subscription", invoice.subscription)
        if subscription is not None:
            subscription._on_initial_payment_success(invoice)


def cancel_open(invoice: Any) -> None:
    """Voiding cancels the payments still waiting (and their PaymentIntents, when they can still be canceled)."""
    for payment in payments_of(invoice.id):
        if payment.status != "open":
            continue
        intent = find("payment_intent", payment.payment_intent)
        if intent is not None and intent.status in (
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ):
            resources.PaymentIntent._api_cancel(intent.id)
        payment.status, payment.status_transitions["canceled_at"] = "canceled", now()


ATTACH_PARAMS = ("payment_intent", "payment_record")


def attach(invoice: Any, params: Params) -> None:
    """POST /v1/invoices/{id}/attach_payment: apply one PaymentIntent or one PaymentRecord (same currency) to an
    open or uncollectible invoice."""
    given = [name for name in ATTACH_PARAMS if params.has(name)]
    if len(given) > 1:
        raise invalid("You may only specify one of: payment_intent, payment_record.", param="payment_record")
    ident = params.text(given[0] if given else "payment_intent", required=True)
    if invoice.status not in ("open", "uncollectible"):
        raise invalid(
            f"You can only attach payments to open or uncollectible invoices. This invoice is {invoice.status}.",
            code="invoice_not_editable",
        )
    if given == ["payment_record"]:
        _attach_record(invoice, get("payment_record", ident, param="payment_record"))
    else:
        _attach_intent(invoice, get("payment_intent", ident, param="payment_intent"))


def _attach_intent(invoice: Any, intent: Any) -> None:
    """Credited now if the PaymentIntent has succeeded, else when it does (settle)."""
    if intent.currency.lower() != invoice.currency.lower():
        raise invalid(
            f"The PaymentIntent's currency ({intent.currency.lower()}) must match the invoice's currency "
            f"({invoice.currency.lower()}).",
            param="payment_intent",
        )
    if intent.status == "canceled":
        raise invalid("You can't attach a canceled PaymentIntent to an invoice.", param="payment_intent")
    if getattr(intent, "invoice", None) or any(p.payment_intent == intent.id for p in stored("invoice_payment")):
        raise invalid(f"PaymentIntent {intent.id} is already attached to an invoice.", param="payment_intent")
    record(invoice, intent, is_default=False)
    settle(invoice)


def _attach_record(invoice: Any, reported: Any) -> None:
    """A guaranteed PaymentRecord is money already received: its whole amount is credited at once."""
    if reported.currency != invoice.currency.lower():
        raise invalid(
            f"The PaymentRecord's currency ({reported.currency}) must match the invoice's currency "
            f"({invoice.currency.lower()}).",
            param="payment_record",
        )
    if reported.outcome in ("failed", "canceled"):
        raise invalid(f"You can't attach a {reported.outcome} PaymentRecord to an invoice.", param="payment_record")
    if reported.outcome != "guaranteed":  # the double has no report_payment_attempt_guaranteed to credit it later
        raise invalid(
            f"PaymentRecord {reported.id} has no outcome yet; the local Stripe double only attaches guaranteed "
            "PaymentRecords.",
            param="payment_record",
        )
    if any(payment.payment_record == reported.id for payment in stored("invoice_payment")):
        raise invalid(f"PaymentRecord {reported.id} is already attached to an invoice.", param="payment_record")
    amount = int(reported.amount_requested)
    payment = InvoicePayment(invoice.id, None, amount, reported.currency, False, payment_record=reported.id)
    credit(invoice, [(payment, amount)])


LIST_FILTERS = ("invoice", "payment", "status", "created", "limit", "starting_after", "ending_before")
KINDS = ("payment_intent", "payment_record")


def list_payments(data: JSON, _: str | None) -> JSON:
    """GET /v1/invoice_payments?invoice=… (or payment[type], payment[payment_intent], payment[payment_record]),
    newest first."""
    params = Params(data, LIST_FILTERS)
    invoice_id = params.text("invoice")
    payment = params.nested("payment", ("type", *KINDS)) or Params({}, ())
    kind = payment.choice("type", KINDS)
    intent, reported = payment.text("payment_intent"), payment.text("payment_record")
    status = params.choice("status", ("canceled", "open", "paid"))
    created = params.created_filter()
    items = [
        item
        for item in stored("invoice_payment")
        if (invoice_id is None or item.invoice == invoice_id)
        and (kind is None or kind == ("payment_record" if item.payment_record is not None else "payment_intent"))
        and intent in (None, item.payment_intent)
        and reported in (None, item.payment_record)
        and (status is None or item.status == status)
        and created(item.created)
    ]
    return page(newest_first(items), "/v1/invoice_payments", params, lambda item: item._export(), "invoice_payment")


def attach_payment(data: JSON, ident: str | None) -> Any:
    invoice = get("invoice", ident)
    attach(invoice, Params(data, ATTACH_PARAMS))
    return invoice


def retrieve(data: JSON, ident: str | None) -> Any:
    Params(data, ())
    return get("invoice_payment", ident)
