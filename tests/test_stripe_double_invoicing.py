"""The Stripe double's Invoicing (devtools/stripe_double/invoic*.py), driven by the real stripe SDK over HTTP.

Each transition is checked with the events it records (GET /v1/events: the object as it was when the event was
made), each refusal with the SDK's error class and Stripe's message, the amounts with Stripe's per-line tax
rounding, and the hosted page and PDF by fetching them. Every test starts from a flushed double.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe

from web.dev.local_stripe import create_account, flush

VISA, DECLINING = "pm_card_visa", "pm_card_chargeCustomerFail"


@pytest.fixture
def client(stripe_base: str) -> stripe.StripeClient:
    flush(stripe_base)
    return stripe.StripeClient("sk_test_portal", base_addresses={"api": stripe_base}, max_network_retries=0)


def customer(client: stripe.StripeClient, **params: Any) -> stripe.Customer:
    return client.v1.customers.create({"email": "ada@example.com", "name": "Ada", **params})


def draft(client: stripe.StripeClient, customer_id: str, *amounts: int, **params: Any) -> stripe.Invoice:
    invoice = client.v1.invoices.create({"customer": customer_id, **params})
    for amount in amounts:
        client.v1.invoice_items.create({"customer": customer_id, "invoice": invoice.id, "amount": amount})
    return client.v1.invoices.retrieve(invoice.id)


def events(client: stripe.StripeClient, kind: str, object_id: str) -> list[dict[str, Any]]:
    """The snapshots carried by the recorded events of a kind about one object."""
    listed = client.v1.events.list({"type": kind, "limit": 100}).data
    return [event.data.to_dict()["object"] for event in listed if event.data["object"]["id"] == object_id]


def refused(
    call: Callable[[], object], message: str, error: type[stripe.StripeError] = stripe.InvalidRequestError
) -> None:
    with pytest.raises(error) as caught:
        call()
    assert caught.value.user_message == message
    assert caught.value.http_status == (402 if error is stripe.CardError else 400)


def paid_intent(client: stripe.StripeClient, amount: int, currency: str = "eur") -> stripe.PaymentIntent:
    intent = client.v1.payment_intents.create(
        {
            "amount": amount,
            "currency": currency,
            "payment_method": VISA,
            "payment_method_types": ["card"],
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    return intent


def test_a_one_off_invoice_is_a_draft_until_finalized(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = client.v1.invoices.create(
        {"customer": ada.id, "collection_method": "send_invoice", "days_until_due": 30, "description": "Hours",
         "metadata": {"job": "7"}, "currency": "eur"}
    )  # fmt: skip
    assert (invoice.status, invoice.number, invoice.hosted_invoice_url, invoice.invoice_pdf) == (
        "draft",
        None,
        None,
        None,
    )
    assert invoice.due_date == invoice.created + 30 * 86400 and invoice.auto_advance is False
    assert (invoice.metadata.to_dict(), invoice.description, invoice.total) == ({"job": "7"}, "Hours", 0)
    assert [created["status"] for created in events(client, "invoice.created", invoice.id)] == ["draft"]

    updated = client.v1.invoices.update(invoice.id, {"description": "Hours, May", "metadata": {"job": ""}})
    assert (updated.description, updated.metadata.to_dict()) == ("Hours, May", {})
    [snapshot] = events(client, "invoice.updated", invoice.id)
    assert snapshot["description"] == "Hours, May"
    previous = client.v1.events.list({"type": "invoice.updated"}).data[0].data.to_dict()["previous_attributes"]
    assert previous == {"description": "Hours", "metadata": {"job": "7"}}


def test_send_invoice_needs_a_due_date_and_unknown_parameters_are_refused(client: stripe.StripeClient) -> None:
    ada = customer(client)
    refused(
        lambda: client.v1.invoices.create({"customer": ada.id, "collection_method": "send_invoice"}),
        "Invoices with `collection_method=send_invoice` need a `days_until_due` or a `due_date`.",
    )
    refused(
        lambda: client.v1.invoices.create({"customer": ada.id, "days_until_due": 3}),
        "You can only set `days_until_due` on invoices with `collection_method=send_invoice`.",
    )
    refused(
        lambda: client.v1.invoices.create({"customer": ada.id, "colour": "red"}), "Received unknown parameter: colour"
    )


def test_totals_round_each_lines_tax_and_take_inclusive_tax_out_of_the_price(client: stripe.StripeClient) -> None:
    ada = customer(client)
    vat = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 20, "inclusive": False})
    invoice = client.v1.invoices.create({"customer": ada.id, "default_tax_rates": [vat.id]})
    client.v1.invoice_items.create(
        {"customer": ada.id, "invoice": invoice.id, "quantity": 2, "unit_amount_decimal": "501.5"}
    )
    client.v1.invoice_items.create({"customer": ada.id, "invoice": invoice.id, "amount": 1003, "description": "Fee"})
    invoice = client.v1.invoices.retrieve(invoice.id)
    # 1003 × 20 % = 200.6 on each line: 201 twice (402), not 20 % of 2006 (401).
    assert [line.taxes[0].amount for line in invoice.lines.data] == [201, 201]
    assert (invoice.subtotal, invoice.total, invoice.total_excluding_tax) == (2006, 2408, 2006)
    assert [(tax.amount, tax.taxable_amount, tax.tax_behavior) for tax in invoice.total_taxes] == [
        (402, 2006, "exclusive")
    ]
    assert (invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (2408, 0, 2408)
    lines = client.v1.invoices.line_items.list(invoice.id)
    assert [(line.quantity, line.pricing.unit_amount_decimal, line.subtotal) for line in lines.data] == [
        (2, Decimal("501.5"), 1003), (1, Decimal(1003), 1003),
    ]  # fmt: skip

    included = client.v1.tax_rates.create({"display_name": "TVA", "percentage": 20, "inclusive": True})
    gross = client.v1.invoices.create({"customer": ada.id})
    client.v1.invoice_items.create(
        {"customer": ada.id, "invoice": gross.id, "amount": 1000, "tax_rates": [included.id]}
    )
    gross = client.v1.invoices.retrieve(gross.id)
    assert (gross.subtotal, gross.subtotal_excluding_tax, gross.total, gross.total_taxes[0].amount) == (
        1000,
        833,
        1000,
        167,
    )


def test_finalizing_numbers_the_invoice_and_serves_its_page_and_pdf(
    client: stripe.StripeClient, stripe_base: str
) -> None:
    ada = customer(client)
    invoice = draft(client, ada.id, 1250)
    assert httpx.get(f"{stripe_base}/invoice/{invoice.id}").status_code == 404  # a draft has no page
    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "open" and re.fullmatch(r"[0-9A-F]{8}-0001", finalized.number or "")
    assert (
        finalized.status_transitions.finalized_at
        and finalized.hosted_invoice_url == f"{stripe_base}/invoice/{invoice.id}"
    )
    assert [snapshot["status"] for snapshot in events(client, "invoice.finalized", invoice.id)] == ["open"]

    page = httpx.get(finalized.hosted_invoice_url)  # no API key, like a customer's browser
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert finalized.number in page.text and "12.50 EUR" in page.text
    pdf = httpx.get(finalized.invoice_pdf or "")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")

    refused(
        lambda: client.v1.invoices.finalize_invoice(invoice.id),
        "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
    )


def test_numbers_follow_a_sequence_per_customer(client: stripe.StripeClient) -> None:
    ada, bob = customer(client), customer(client, email="bob@example.com")
    numbers = [client.v1.invoices.finalize_invoice(draft(client, ada.id, 100).id).number for _ in range(3)]
    prefix = client.v1.customers.retrieve(ada.id).invoice_prefix
    assert numbers == [f"{prefix}-0001", f"{prefix}-0002", f"{prefix}-0003"]
    assert client.v1.customers.retrieve(ada.id).next_invoice_sequence == 4
    other = client.v1.invoices.finalize_invoice(draft(client, bob.id, 100).id).number
    assert other == f"{client.v1.customers.retrieve(bob.id).invoice_prefix}-0001" and not other.startswith(prefix)


def test_send_records_invoice_sent_for_send_invoice_only(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = draft(client, ada.id, 500, collection_method="send_invoice", days_until_due=14)
    sent = client.v1.invoices.send_invoice(invoice.id)  # a draft is finalized first
    assert sent.status == "open" and sent.number
    assert [snapshot["status"] for snapshot in events(client, "invoice.sent", invoice.id)] == ["open"]
    assert len(events(client, "invoice.finalized", invoice.id)) == 1
    automatic = draft(client, ada.id, 500)
    refused(
        lambda: client.v1.invoices.send_invoice(automatic.id),
        "You can only manually send an invoice if its collection method is 'send_invoice'.",
    )


def test_paying_out_of_band(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = client.v1.invoices.finalize_invoice(draft(client, ada.id, 800, 200).id)
    paid = client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 1000, 0)
    assert paid.status_transitions.paid_at
    for kind in ("invoice.paid", "invoice.payment_succeeded", "invoice.updated"):
        assert [snapshot["status"] for snapshot in events(client, kind, invoice.id)] == ["paid"], kind
    refused(lambda: client.v1.invoices.pay(invoice.id), "Invoice is already paid")
    refused(
        lambda: client.v1.invoices.void_invoice(invoice.id),
        "You can only void open or uncollectible invoices. This invoice is paid.",
    )


def test_paying_a_draft_finalizes_it_and_charges_the_default_card(client: stripe.StripeClient) -> None:
    ada = customer(client, payment_method=VISA, invoice_settings={"default_payment_method": VISA})
    invoice = draft(client, ada.id, 4200)
    paid = client.v1.invoices.pay(invoice.id)
    assert (paid.status, paid.amount_paid, paid.attempt_count) == ("paid", 4200, 1) and paid.number
    [payment] = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    assert (payment.status, payment.amount_paid, payment.is_default) == ("paid", 4200, True)
    assert client.v1.payment_intents.retrieve(payment.payment.payment_intent or "").status == "succeeded"
    assert [snapshot["status"] for snapshot in events(client, "invoice.finalized", invoice.id)] == ["open"]
    assert [snapshot["status"] for snapshot in events(client, "invoice.paid", invoice.id)] == ["paid"]


def test_a_declined_card_leaves_the_invoice_open_until_a_retry_succeeds(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = client.v1.invoices.finalize_invoice(draft(client, ada.id, 900).id)
    refused(
        lambda: client.v1.invoices.pay(invoice.id),
        "This customer has no attached payment source or default payment method. Please consider adding a default "
        "payment method.",
    )
    refused(
        lambda: client.v1.invoices.pay(invoice.id, {"payment_method": DECLINING}),
        "Your card was declined.",
        stripe.CardError,
    )
    assert client.v1.invoices.retrieve(invoice.id).status == "open"
    assert [snapshot["status"] for snapshot in events(client, "invoice.payment_failed", invoice.id)] == ["open"]
    assert client.v1.invoices.pay(invoice.id, {"payment_method": VISA}).status == "paid"
    assert len(client.v1.invoice_payments.list({"invoice": invoice.id}).data) == 1  # the retry reused it


def test_void_and_uncollectible(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = draft(client, ada.id, 300)
    refused(
        lambda: client.v1.invoices.void_invoice(invoice.id),
        "You can only void open or uncollectible invoices. This invoice is draft. Delete a draft invoice instead.",
    )
    refused(
        lambda: client.v1.invoices.mark_uncollectible(invoice.id),
        "You can only mark open invoices as uncollectible. This invoice is draft.",
    )
    client.v1.invoices.finalize_invoice(invoice.id)
    voided = client.v1.invoices.void_invoice(invoice.id)
    assert voided.status == "void" and voided.status_transitions.voided_at
    assert [snapshot["status"] for snapshot in events(client, "invoice.voided", invoice.id)] == ["void"]

    doubtful = client.v1.invoices.finalize_invoice(draft(client, ada.id, 700).id)
    marked = client.v1.invoices.mark_uncollectible(doubtful.id)
    assert marked.status == "uncollectible" and marked.status_transitions.marked_uncollectible_at
    assert [s["status"] for s in events(client, "invoice.marked_uncollectible", doubtful.id)] == ["uncollectible"]
    assert client.v1.invoices.pay(doubtful.id, {"paid_out_of_band": True}).status == "paid"  # still payable


def test_only_drafts_can_be_deleted(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = draft(client, ada.id, 300)
    item_id = invoice.lines.data[0].parent.invoice_item_details.invoice_item
    deleted = client.v1.invoices.delete(invoice.id)
    assert deleted.deleted is True
    assert [snapshot["status"] for snapshot in events(client, "invoice.deleted", invoice.id)] == ["draft"]
    with pytest.raises(stripe.InvalidRequestError, match="No such invoice"):
        client.v1.invoices.retrieve(invoice.id)
    with pytest.raises(stripe.InvalidRequestError, match="No such invoiceitem"):
        client.v1.invoice_items.retrieve(item_id)
    finalized = client.v1.invoices.finalize_invoice(draft(client, ada.id, 300).id)
    refused(lambda: client.v1.invoices.delete(finalized.id), "You can only delete draft invoices.")


def test_invoice_items_change_only_while_their_invoice_is_a_draft(client: stripe.StripeClient) -> None:
    ada = customer(client)
    product = client.v1.products.create({"name": "Consulting"})
    invoice = client.v1.invoices.create({"customer": ada.id})
    item = client.v1.invoice_items.create(
        {"customer": ada.id, "invoice": invoice.id, "quantity": 3,
         "price_data": {"currency": "eur", "product": product.id, "unit_amount_decimal": "12.5"}}
    )  # fmt: skip
    assert (item.amount, item.quantity, item.pricing.unit_amount_decimal) == (38, 3, Decimal("12.5"))
    assert client.v1.invoice_items.update(item.id, {"quantity": 4}).amount == 50
    assert client.v1.invoices.retrieve(invoice.id).total == 50
    client.v1.invoices.finalize_invoice(invoice.id)
    refused(
        lambda: client.v1.invoice_items.update(item.id, {"quantity": 5}),
        "You can only update invoice items on draft invoices.",
    )
    refused(
        lambda: client.v1.invoice_items.create({"customer": ada.id, "invoice": invoice.id, "amount": 5}),
        f"You can only add invoice items to draft invoices. Invoice {invoice.id} is open.",
    )


def test_pending_items_join_a_new_invoice_only_when_asked(client: stripe.StripeClient) -> None:
    ada = customer(client)
    pending = client.v1.invoice_items.create({"customer": ada.id, "amount": 250, "currency": "eur"})
    assert [item.id for item in client.v1.invoice_items.list({"customer": ada.id, "pending": True}).data] == [
        pending.id
    ]
    assert client.v1.invoices.create({"customer": ada.id}).total == 0  # Stripe's default: exclude
    included = client.v1.invoices.create({"customer": ada.id, "pending_invoice_items_behavior": "include"})
    assert (included.total, client.v1.invoice_items.retrieve(pending.id).invoice) == (250, included.id)


def test_attach_payment_pays_in_parts(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = client.v1.invoices.finalize_invoice(draft(client, ada.id, 1000).id)
    first = client.v1.invoices.attach_payment(invoice.id, {"payment_intent": paid_intent(client, 400).id})
    assert (first.status, first.amount_paid, first.amount_remaining) == ("open", 400, 600)
    assert events(client, "invoice.paid", invoice.id) == []

    later = client.v1.payment_intents.create(
        {"amount": 600, "currency": "eur", "payment_method": VISA, "payment_method_types": ["card"]}
    )
    assert client.v1.invoices.attach_payment(invoice.id, {"payment_intent": later.id}).amount_remaining == 600
    client.v1.payment_intents.confirm(later.id)  # credited when it succeeds
    settled = client.v1.invoices.retrieve(invoice.id)
    assert (settled.status, settled.amount_paid, settled.amount_remaining) == ("paid", 1000, 0)
    assert [snapshot["amount_paid"] for snapshot in events(client, "invoice.paid", invoice.id)] == [1000]
    payments = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    assert sorted((payment.amount_paid, payment.status) for payment in payments) == [(400, "paid"), (600, "paid")]
    refused(
        lambda: client.v1.invoices.attach_payment(invoice.id, {"payment_intent": paid_intent(client, 100).id}),
        "You can only attach payments to open or uncollectible invoices. This invoice is paid.",
    )


def test_attach_payment_needs_the_invoice_currency(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = client.v1.invoices.finalize_invoice(draft(client, ada.id, 1000).id)
    refused(
        lambda: client.v1.invoices.attach_payment(invoice.id, {"payment_intent": paid_intent(client, 1000, "usd").id}),
        "The PaymentIntent's currency (usd) must match the invoice's currency (eur).",
    )


def test_lists_are_newest_first_and_page_through_every_invoice_once(client: stripe.StripeClient) -> None:
    ada, bob = customer(client), customer(client, email="bob@example.com")
    start = int(time.time())
    ids = [client.v1.invoices.create({"customer": ada.id}).id for _ in range(25)]
    client.v1.invoices.finalize_invoice(draft(client, bob.id, 100).id)
    first = client.v1.invoices.list({"customer": ada.id, "limit": 10})
    assert (len(first.data), first.has_more, first.data[0].id) == (10, True, ids[-1])
    paged = [invoice.id for invoice in client.v1.invoices.list({"customer": ada.id, "limit": 7}).auto_paging_iter()]
    assert paged == ids[::-1]
    newer = client.v1.invoices.list({"customer": ada.id, "limit": 4, "ending_before": ids[0]}).auto_paging_iter()
    assert [invoice.id for invoice in newer] == ids[1:]
    assert [invoice.customer for invoice in client.v1.invoices.list({"status": "open"}).data] == [bob.id]
    assert len(client.v1.invoices.list({"created": {"gte": start}, "limit": 100}).data) == 26
    assert client.v1.invoices.list({"created": {"gte": start + 3600}}).data == []
    expanded = client.v1.invoices.list({"customer": bob.id, "expand": ["data.customer"]}).data[0]
    assert expanded.customer.email == "bob@example.com"


def test_an_invoice_of_another_account_has_its_page_and_stays_apart(
    client: stripe.StripeClient, stripe_base: str
) -> None:
    keys = create_account(stripe_base, "Second workspace")
    other = stripe.StripeClient(keys["secret_key"], base_addresses={"api": stripe_base}, max_network_retries=0)
    buyer = other.v1.customers.create({"email": "buyer@example.com"})
    invoice = other.v1.invoices.create({"customer": buyer.id})
    other.v1.invoice_items.create({"customer": buyer.id, "invoice": invoice.id, "amount": 990})
    finalized = other.v1.invoices.finalize_invoice(invoice.id)
    assert httpx.get(finalized.hosted_invoice_url or "").status_code == 200
    with pytest.raises(stripe.InvalidRequestError, match="No such invoice"):
        client.v1.invoices.retrieve(invoice.id)
    assert client.v1.invoices.list().data == []


def test_subscriptions_still_create_and_pay_their_invoices(client: stripe.StripeClient) -> None:
    ada = customer(client, payment_method=VISA, invoice_settings={"default_payment_method": VISA})
    product = client.v1.products.create({"name": "Plan"})
    plan = client.v1.plans.create({"amount": 1200, "currency": "eur", "interval": "month", "product": product.id})
    subscription = client.v1.subscriptions.create({"customer": ada.id, "items": [{"plan": plan.id}]})
    assert subscription.status == "active"
    invoice = client.v1.invoices.retrieve(str(subscription.latest_invoice))
    assert (invoice.status, invoice.amount_paid, invoice.parent.subscription_details.subscription) == (
        "paid", 1200, subscription.id,
    )  # fmt: skip
    assert invoice.number and invoice.hosted_invoice_url
    assert [snapshot["status"] for snapshot in events(client, "invoice.paid", invoice.id)] == ["paid"]


def test_a_number_set_on_a_draft_is_kept_at_finalization_and_is_unique(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = client.v1.invoices.create({"customer": ada.id, "number": "PORTAL-2025-0042"})
    client.v1.invoice_items.create({"customer": ada.id, "invoice": invoice.id, "amount": 500})
    assert (client.v1.invoices.retrieve(invoice.id).number, invoice.status) == ("PORTAL-2025-0042", "draft")
    assert client.v1.invoices.finalize_invoice(invoice.id).number == "PORTAL-2025-0042"
    assert client.v1.customers.retrieve(ada.id).next_invoice_sequence == 1  # the customer's sequence is not used

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.create({"customer": ada.id, "number": "PORTAL-2025-0042"})
    assert caught.value.user_message == "The invoice number PORTAL-2025-0042 is already used by another invoice."
    assert caught.value.param == "number"
    other = client.v1.invoices.create({"customer": ada.id, "number": "PORTAL-2025-0043"})
    refused(
        lambda: client.v1.invoices.update(other.id, {"number": "PORTAL-2025-0042"}),
        "The invoice number PORTAL-2025-0042 is already used by another invoice.",
    )
    refused(
        lambda: client.v1.invoices.create({"customer": ada.id, "number": "N" * 27}),
        f"Invalid string: {'N' * 27}; must be at most 26 characters",
    )
    assert client.v1.invoices.update(other.id, {"number": "PORTAL-2025-0044"}).number == "PORTAL-2025-0044"
    refused(
        lambda: client.v1.invoices.update(invoice.id, {"number": "PORTAL-2025-0045"}),
        "Finalized invoices can't be updated in this way",
    )

    # "" removes a draft's number: finalization then numbers it, skipping a number another invoice took by hand.
    prefix = client.v1.customers.retrieve(ada.id).invoice_prefix
    assert client.v1.invoices.update(other.id, {"number": f"{prefix}-0001"}).number == f"{prefix}-0001"
    unnumbered = draft(client, ada.id, 100, number="PORTAL-2025-0046")
    assert client.v1.invoices.update(unnumbered.id, {"number": ""}).number is None
    assert client.v1.invoices.finalize_invoice(unnumbered.id).number == f"{prefix}-0002"


def _tax(amount: int, taxable: int, percentage: float = 19, inclusive: bool = False) -> dict[str, Any]:
    rate = {"display_name": "USt", "percentage": percentage, "inclusive": inclusive, "jurisdiction": "DE"}
    return {"amount": amount, "taxable_amount": taxable, "tax_rate_data": rate}


def test_line_tax_amounts_are_the_invoices_taxes_exactly(client: stripe.StripeClient) -> None:
    ada = customer(client)
    invoice = draft(client, ada.id, 333, 333)
    first, second = invoice.lines.data
    # 19 % of 333 is 63.27: Stripe's rates would make 63 + 63; taxes computed elsewhere can say 63 + 64.
    line = client.v1.invoices.line_items.update(invoice.id, first.id, {"tax_amounts": [_tax(63, 333)]})
    assert line.id == first.id
    [tax] = line.taxes
    assert (tax.type, tax.amount, tax.taxable_amount, tax.tax_behavior) == ("tax_rate_details", 63, 333, "exclusive")
    client.v1.invoices.line_items.update(invoice.id, second.id, {"tax_amounts": [_tax(64, 333)]})
    taxed = client.v1.invoices.retrieve(invoice.id)
    assert (taxed.subtotal, taxed.total_excluding_tax, taxed.total, taxed.amount_due) == (666, 666, 793, 793)
    [total_tax] = taxed.total_taxes  # one rate: the same tax_rate_data finds the same TaxRate
    rate_id = tax.tax_rate_details.tax_rate if tax.tax_rate_details else ""
    assert (total_tax.amount, total_tax.taxable_amount, total_tax.tax_rate_details.tax_rate) == (127, 666, rate_id)
    rate = client.v1.tax_rates.retrieve(rate_id)
    assert (rate.display_name, rate.percentage, rate.inclusive, rate.jurisdiction, rate.active) == (
        "USt", 19.0, False, "DE", False,
    )  # fmt: skip
    assert sorted(event["total"] for event in events(client, "invoice.updated", invoice.id)) == [729, 793]

    # A change of description keeps them; a new amount drops them (they were computed for the old one).
    item_id = first.parent.invoice_item_details.invoice_item if first.parent.invoice_item_details else ""
    client.v1.invoices.line_items.update(invoice.id, first.id, {"description": "Consulting", "metadata": {"k": "v"}})
    assert client.v1.invoice_items.retrieve(item_id).description == "Consulting"
    assert client.v1.invoices.retrieve(invoice.id).total == 793
    client.v1.invoice_items.update(item_id, {"amount": 400})
    assert client.v1.invoices.line_items.list(invoice.id).data[0].taxes == []
    cleared = client.v1.invoices.line_items.update(invoice.id, second.id, {"tax_amounts": ""})
    assert cleared.taxes == [] and client.v1.invoices.retrieve(invoice.id).total == 733

    gross = draft(client, ada.id, 1190)
    client.v1.invoices.line_items.update(
        gross.id, gross.lines.data[0].id, {"tax_amounts": [_tax(190, 1000, inclusive=True)]}
    )
    gross = client.v1.invoices.retrieve(gross.id)
    assert (gross.subtotal, gross.subtotal_excluding_tax, gross.total, gross.total_taxes[0].amount) == (
        1190, 1000, 1190, 190,
    )  # fmt: skip
    client.v1.invoices.finalize_invoice(gross.id)
    refused(
        lambda: client.v1.invoices.line_items.update(gross.id, gross.lines.data[0].id, {"tax_amounts": ""}),
        f"You can only update the lines of draft invoices. Invoice {gross.id} is open.",
    )


def test_tax_amounts_and_tax_rates_never_mix(client: stripe.StripeClient) -> None:
    ada = customer(client)
    vat = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 19, "inclusive": False})
    by_default = draft(client, ada.id, 100, default_tax_rates=[vat.id])
    refused(
        lambda: client.v1.invoices.line_items.update(
            by_default.id, by_default.lines.data[0].id, {"tax_amounts": [_tax(19, 100)]}
        ),
        "You cannot set tax_amounts on the line items of an invoice that has default_tax_rates.",
    )
    by_item = client.v1.invoices.create({"customer": ada.id})
    client.v1.invoice_items.create({"customer": ada.id, "invoice": by_item.id, "amount": 100, "tax_rates": [vat.id]})
    client.v1.invoice_items.create({"customer": ada.id, "invoice": by_item.id, "amount": 100})
    untaxed = client.v1.invoices.retrieve(by_item.id).lines.data[1]
    refused(
        lambda: client.v1.invoices.line_items.update(by_item.id, untaxed.id, {"tax_amounts": [_tax(19, 100)]}),
        "You cannot set tax_amounts on an invoice whose line items have tax_rates.",
    )

    by_amounts = draft(client, ada.id, 100)
    line = client.v1.invoices.line_items.update(
        by_amounts.id, by_amounts.lines.data[0].id, {"tax_amounts": [_tax(19, 100)]}
    )
    refused(
        lambda: client.v1.invoices.update(by_amounts.id, {"default_tax_rates": [vat.id]}),
        "You cannot set default_tax_rates on an invoice whose line items have tax_amounts.",
    )
    made = line.taxes[0].tax_rate_details.tax_rate if line.taxes[0].tax_rate_details else ""
    refused(
        lambda: client.v1.invoice_items.create(
            {"customer": ada.id, "amount": 5, "currency": "eur", "tax_rates": [made]}
        ),
        f"The tax rate {made} was created from tax_rate_data and can't be applied directly.",
    )
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.line_items.update(
            by_amounts.id, by_amounts.lines.data[0].id, {"tax_amounts": [{"amount": 19, "taxable_amount": 100}]}
        )
    assert caught.value.param == "tax_amounts[0][tax_rate_data]"
