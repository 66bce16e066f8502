"""`POST /v1/invoices/{id}/pay` with a card: what remains is charged through localstripe's own PaymentIntents.

Why through localstripe's machinery: its test cards then behave on invoices as on PaymentIntents (4000000000000341
declines, 4000002500003155 asks for 3-D Secure, SEPA debits settle half a second later), and the success or failure
reaches the invoice through the hooks the model patches. Like Stripe, the invoice keeps one default payment whose
PaymentIntent is reused when a failed attempt is retried.
"""

from __future__ import annotations

from typing import Any

from localstripe import resources
from localstripe.errors import UserError

from . import invoice_payments as payments
from .invoice_common import emit, invalid, missing

REQUIRES_ACTION = (
    "This payment requires additional user action before it can be completed successfully. Payment can be completed "
    "using the PaymentIntent associated with the invoice."
)


def _payment_method(invoice: Any, ident: str | None) -> Any:
    if ident is not None:
        try:
            return resources.PaymentMethod._api_retrieve(ident)
        except UserError:
            raise missing("payment_method", ident) from None
    customer = resources.store.get(f"customer:{invoice.customer}")
    method = customer._get_default_payment_method_or_source() if customer is not None else None
    if method is None:
        raise invalid(
            "This customer has no attached payment source or default payment method. Please consider adding a "
            "default payment method.",
            code="invoice_no_customer_payment_method",
        )  # fmt: skip
    return method


def _retryable(invoice: Any) -> tuple[Any, Any] | None:
    """The default payment whose PaymentIntent failed (or was never confirmed): Stripe retries with it."""
    for payment in payments.payments_of(invoice.id):
        intent = resources.store.get(f"payment_intent:{payment.payment_intent}")
        retryable = intent is not None and intent.status in ("requires_payment_method", "requires_confirmation")
        if payment.is_default and payment.status == "open" and retryable:
            return payment, intent
    return None


def charge(invoice: Any, payment_method: str | None) -> None:
    remaining = invoice.amount_due - payments.amount_paid(invoice)
    if remaining <= 0:
        payments.mark_paid(invoice, invoice._export(), payment_succeeded=True)
        return
    method = _payment_method(invoice, payment_method)
    retry = _retryable(invoice)
    if retry is None:
        intent = resources.PaymentIntent(
            amount=remaining, currency=invoice.currency, customer=invoice.customer, payment_method=method.id
        )
        payments.record(invoice, intent, is_default=True)
    else:
        payment, intent = retry
        payment.amount_requested = intent.amount = remaining
        intent.payment_method, intent.latest_charge = method.id, None  # back to requires_confirmation
    invoice.payment_intent = intent.id  # localstripe's subscription code reads the charge through it
    invoice.attempt_count = int(getattr(invoice, "attempt_count", 0)) + 1
    invoice.attempted = True
    intent._confirm(on_failure_now=lambda: None)  # success reaches Invoice._on_payment_success
    if intent.status == "requires_action":
        emit("invoice.payment_action_required", invoice)
        raise invalid(REQUIRES_ACTION, code="invoice_payment_intent_requires_action", status=402, kind="card_error")
    if intent.status == "requires_payment_method":  # declined now (SEPA debits fail later, through the hooks)
        failed = intent.latest_charge
        invoice._on_payment_failure_now()
        error = invalid(
            failed.failure_message or "Your card was declined.", code=failed.failure_code or "card_declined",
            status=402, kind="card_error",
        )  # fmt: skip
        error.body["error"].update({"decline_code": "generic_decline", "charge": failed.id})
        raise error
