"""Payment Records in the Stripe double (devtools/stripe_double/payment_records.py): payments made outside Stripe,
reported with the real stripe SDK and attached to invoices, which they pay in parts or in full.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from web.dev.local_stripe import flush


@pytest.fixture
def client(stripe_base: str) -> stripe.StripeClient:
    flush(stripe_base)
    return stripe.StripeClient("sk_test_portal", base_addresses={"api": stripe_base}, max_network_retries=0)


def open_invoice(client: stripe.StripeClient, amount: int) -> stripe.Invoice:
    ada = client.v1.customers.create({"email": "ada@example.com", "name": "Ada"})
    invoice = client.v1.invoices.create({"customer": ada.id, "currency": "eur"})
    client.v1.invoice_items.create({"customer": ada.id, "invoice": invoice.id, "amount": amount})
    return client.v1.invoices.finalize_invoice(invoice.id)


def report(client: stripe.StripeClient, value: int, **params: Any) -> stripe.PaymentRecord:
    """A bank transfer received in full, the way the portal reports one."""
    now = int(time.time())
    return client.v1.payment_records.report_payment(
        {
            "amount_requested": {"currency": "eur", "value": value},
            "initiated_at": now,
            "outcome": "guaranteed",
            "guaranteed": {"guaranteed_at": now},
            "payment_method_details": {"custom": {"display_name": "Bank transfer"}},
            "processor_details": {"type": "custom", "custom": {"payment_reference": "RF18 5390 0754 7034"}},
            "metadata": {"portal_payment_id": "17"},
            **params,
        }
    )


def refused(call: Any, message: str, param: str | None = None) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call()
    assert (caught.value.http_status, caught.value.user_message) == (400, message)
    if param is not None:
        assert caught.value.param == param


def test_a_reported_payment_is_a_payment_record(client: stripe.StripeClient) -> None:
    record = report(client, 400, description="May hours")
    assert record.id.startswith("pr_") and record.object == "payment_record"
    assert (record.amount_requested.value, record.amount_requested.currency) == (400, "eur")
    assert (record.amount.value, record.amount_guaranteed.value, record.amount_failed.value) == (400, 400, 0)
    method = record.payment_method_details
    assert method is not None and method.type == "custom" and method.custom is not None
    assert method.custom.display_name == "Bank transfer"
    assert record.processor_details.custom is not None
    assert record.processor_details.custom.payment_reference == "RF18 5390 0754 7034"
    assert (record.metadata.to_dict(), record.description, record.livemode) == (
        {"portal_payment_id": "17"},
        "May hours",
        False,
    )
    assert client.v1.payment_records.retrieve(record.id).to_dict() == record.to_dict()

    refused(lambda: report(client, 400, guaranteed=None), "Missing required param: guaranteed.", "guaranteed")
    refused(
        lambda: report(client, 400, payment_method_details={"custom": {"display_name": "Cash"}, "colour": "red"}),
        "Received unknown parameter: payment_method_details[colour]",
        "payment_method_details[colour]",
    )
    with pytest.raises(stripe.InvalidRequestError, match="No such payment_record"):
        client.v1.payment_records.retrieve("pr_missing")


def test_reported_payments_pay_an_invoice_in_parts(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client, 1000)
    first = report(client, 400)
    partly = client.v1.invoices.attach_payment(invoice.id, {"payment_record": first.id})
    assert (partly.status, partly.amount_paid, partly.amount_remaining) == ("open", 400, 600)
    [payment] = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    assert (payment.status, payment.amount_paid, payment.amount_requested) == ("paid", 400, 400)
    assert payment.payment.to_dict() == {"type": "payment_record", "payment_record": first.id}
    refused(
        lambda: client.v1.invoices.attach_payment(invoice.id, {"payment_record": first.id}),
        f"PaymentRecord {first.id} is already attached to an invoice.",
        "payment_record",
    )

    # A card payment and a reported one together: each counts once toward what remains.
    intent = client.v1.payment_intents.create(
        {"amount": 200, "currency": "eur", "payment_method": "pm_card_visa", "payment_method_types": ["card"],
         "confirm": True}
    )  # fmt: skip
    assert client.v1.invoices.attach_payment(invoice.id, {"payment_intent": intent.id}).amount_remaining == 400
    paid = client.v1.invoices.attach_payment(invoice.id, {"payment_record": report(client, 400).id})
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 1000, 0)
    assert paid.status_transitions.paid_at
    listed = client.v1.events.list({"type": "invoice.paid"}).data
    assert [event.data["object"]["amount_paid"] for event in listed if event.data["object"]["id"] == invoice.id] == [
        1000
    ]
    chosen = client.v1.invoice_payments.list({"payment": {"type": "payment_record", "payment_record": first.id}})
    assert [found.id for found in chosen.data] == [payment.id]
    [by_card] = client.v1.invoice_payments.list({"payment": {"type": "payment_intent"}}).data
    assert by_card.payment.to_dict() == {"type": "payment_intent", "payment_intent": intent.id}
    expanded = client.v1.invoice_payments.list({"invoice": invoice.id, "expand": ["data.payment.payment_record"]}).data
    records = [found.payment.payment_record for found in expanded if found.payment.type == "payment_record"]
    assert sorted(record.amount_guaranteed.value for record in records) == [400, 400]
    refused(
        lambda: client.v1.invoices.attach_payment(invoice.id, {"payment_record": report(client, 100).id}),
        "You can only attach payments to open or uncollectible invoices. This invoice is paid.",
    )


def test_a_record_pays_an_invoice_only_in_its_currency_and_once_guaranteed(client: stripe.StripeClient) -> None:
    invoice = client.v1.invoices.mark_uncollectible(open_invoice(client, 1000).id)
    dollars = report(client, 1000, amount_requested={"currency": "usd", "value": 1000})
    refused(
        lambda: client.v1.invoices.attach_payment(invoice.id, {"payment_record": dollars.id}),
        "The PaymentRecord's currency (usd) must match the invoice's currency (eur).",
    )
    failed = report(client, 1000, outcome="failed", guaranteed=None, failed={"failed_at": int(time.time())})
    assert (failed.amount_failed.value, failed.amount_guaranteed.value, failed.amount.value) == (1000, 0, 0)
    refused(
        lambda: client.v1.invoices.attach_payment(invoice.id, {"payment_record": failed.id}),
        "You can't attach a failed PaymentRecord to an invoice.",
    )
    refused(
        lambda: client.v1.invoices.attach_payment(
            invoice.id, {"payment_record": failed.id, "payment_intent": "pi_unknown"}
        ),
        "You may only specify one of: payment_intent, payment_record.",
    )
    assert client.v1.invoices.retrieve(invoice.id).amount_remaining == 1000
    paid = client.v1.invoices.attach_payment(invoice.id, {"payment_record": report(client, 1000).id})
    assert (paid.status, paid.amount_remaining) == ("paid", 0)  # an uncollectible invoice can still be paid
