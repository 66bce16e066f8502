"""Payment Records: payments made outside Stripe (a bank transfer, a cheque, another processor), reported to it.

Why the double has them: an invoice paid outside Stripe is settled on Stripe by reporting the payment
(`POST /v1/payment_records/report_payment`) and attaching the record to the invoice
(`POST /v1/invoices/{id}/attach_payment` with `payment_record`, invoice_payments.py), which credits its amount as
an InvoicePayment. Only what one report says is kept: one payment attempt, its outcome given at once; the
`report_payment_attempt*` and `report_refund` endpoints are not served.
"""

from __future__ import annotations

from typing import Any

from localstripe import resources
from localstripe.errors import UserError

from .api import random_id
from .invoice_common import JSON, get, invalid
from .invoice_common import expand as expand_paths
from .invoice_params import Params

REPORT = (
    "amount_requested", "canceled", "customer_details", "customer_presence", "description", "failed", "guaranteed",
    "initiated_at", "metadata", "outcome", "payment_method_details", "processor_details", "shipping_details",
)  # fmt: skip
OUTCOMES = {"guaranteed": "guaranteed_at", "failed": "failed_at", "canceled": "canceled_at"}
ADDRESS = ("city", "country", "line1", "line2", "postal_code", "state")


class PaymentRecord(resources.StripeObject):  # type: ignore[misc]  # localstripe ships no type information
    """One reported payment: what was asked (`amount_requested`) and how it ended (`outcome`, or none yet)."""

    object = "payment_record"
    _id_prefix = "pr_"

    def __init__(self, currency: str, amount: int, outcome: str | None, details: JSON) -> None:
        super().__init__()
        self.currency = currency
        self.amount_requested = amount
        self.outcome = outcome
        self._details = details  # the exported fields the report gave, already in Stripe's shape
        self.latest_payment_attempt_record = random_id("par_", 14)  # one attempt, not served on its own

    def _money(self, outcome: str | None) -> JSON:
        """The amount in the state `outcome` names: all of it when that is the reported outcome, else none."""
        return {"currency": self.currency, "value": self.amount_requested if self.outcome == outcome else 0}

    def _export(self, expand: Any = None) -> JSON:
        exported = {
            "id": self.id,
            "object": "payment_record",
            "amount": self._money("guaranteed"),  # what was processed: the whole amount once guaranteed
            "amount_authorized": {"currency": self.currency, "value": 0},  # no authorization step is reported
            "amount_canceled": self._money("canceled"),
            "amount_failed": self._money("failed"),
            "amount_guaranteed": self._money("guaranteed"),
            "amount_refunded": {"currency": self.currency, "value": 0},  # report_refund is not served
            "amount_requested": {"currency": self.currency, "value": self.amount_requested},
            "application": None,
            "created": self.created,
            "latest_payment_attempt_record": self.latest_payment_attempt_record,
            "livemode": bool(getattr(self, "livemode", False)),
            "reported_by": "self",
            **self._details,
        }
        return expand_paths(exported, expand)


def _flat(params: Params, name: str, fields: tuple[str, ...]) -> JSON | None:
    """A hash of strings (customer_details, billing and shipping details), every field shown, null when not given;
    an `address` inside it is such a hash too."""
    given = params.nested(name, fields)
    if given is None:
        return None
    flat: JSON = {field: given.text(field) for field in fields if field != "address"}
    if "address" in fields:
        flat["address"] = _flat(given, "address", ADDRESS)
    return flat


def _method_details(params: Params) -> JSON:
    """`custom` (a payment method Stripe does not know, named by `display_name`) or a Stripe `payment_method`."""
    details = params.nested(
        "payment_method_details", ("billing_details", "custom", "payment_method", "type"), required=True
    )
    assert details is not None
    details.choice("type", ("custom",))
    billing = _flat(details, "billing_details", ("address", "email", "name", "phone"))
    custom = details.nested("custom", ("display_name", "type"))
    if custom is not None and details.has("payment_method"):
        raise invalid(
            "You may only specify one of: payment_method_details[custom], payment_method_details[payment_method].",
            param="payment_method_details[payment_method]",
        )
    if custom is not None:
        shown = {"display_name": custom.text("display_name"), "type": custom.text("type")}
        return {"billing_details": billing, "custom": shown, "payment_method": None, "type": "custom"}
    if not details.has("payment_method"):
        raise invalid(
            "You must specify one of payment_method_details[custom] or payment_method_details[payment_method].",
            param="payment_method_details",
        )
    ident = details.text("payment_method")
    try:  # through localstripe, which also knows its test ids (pm_card_visa, …)
        method = resources.PaymentMethod._api_retrieve(ident)
    except UserError:
        raise invalid(
            f"No such PaymentMethod: '{ident}'", param="payment_method_details[payment_method]", code="resource_missing"
        ) from None
    return {"billing_details": billing, "custom": None, "payment_method": method.id, "type": method.type}


def _processor(params: Params) -> JSON:
    processor = params.nested("processor_details", ("custom", "type"))
    if processor is None:
        return {"custom": {"payment_reference": None}, "type": "custom"}
    processor.require("type")
    processor.choice("type", ("custom",))
    custom = processor.nested("custom", ("payment_reference",), required=True)
    assert custom is not None
    return {"custom": {"payment_reference": custom.text("payment_reference", required=True)}, "type": "custom"}


def _outcome(params: Params) -> str | None:
    """The outcome comes with its own hash and time (`guaranteed[guaranteed_at]`), and no other outcome's hash."""
    outcome = params.choice("outcome", tuple(OUTCOMES))
    for kind, field in OUTCOMES.items():
        if params.has(kind) and outcome != kind:
            raise invalid(f"You can only pass `{kind}` with `outcome={kind}`.", param=kind)
        if outcome == kind:
            timing = params.nested(kind, (field,), required=True)
            assert timing is not None
            timing.require(field)
            timing.integer(field)
    return outcome


def report_payment(data: JSON, _: str | None) -> Any:
    """POST /v1/payment_records/report_payment: a payment made outside Stripe, with its outcome if known."""
    params = Params(data, REPORT)
    params.require("amount_requested", "initiated_at", "payment_method_details")
    requested = params.nested("amount_requested", ("currency", "value"))
    assert requested is not None
    requested.require("currency", "value")
    currency = (requested.text("currency") or "").lower()
    value = requested.integer("value", minimum=1)
    params.integer("initiated_at")
    outcome = _outcome(params)
    customer_details = _flat(params, "customer_details", ("customer", "email", "name", "phone"))
    if customer_details is not None and customer_details["customer"] is not None:
        get("customer", customer_details["customer"], param="customer_details[customer]")
    details = {
        "customer_details": customer_details,
        "customer_presence": params.choice("customer_presence", ("off_session", "on_session")),
        "description": params.text("description"),
        "metadata": params.metadata() or {},
        "payment_method_details": _method_details(params),
        "processor_details": _processor(params),
        "shipping_details": _flat(params, "shipping_details", ("address", "name", "phone")),
    }
    return PaymentRecord(currency, int(value or 0), outcome, details)


def retrieve(data: JSON, ident: str | None) -> Any:
    """GET /v1/payment_records/{id}."""
    Params(data, ())
    return get("payment_record", ident)
