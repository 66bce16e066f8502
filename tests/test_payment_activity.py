"""The payment entries of an invoice's activity log, written by a trigger on payments: card payments driven
over HTTP against localstripe with signed webhooks, refunds, manual payments, and duplicates logged once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from db.activity import (
    PAYMENT_ATTEMPTED,
    PAYMENT_CANCELED,
    PAYMENT_FAILED,
    PAYMENT_KINDS,
    PAYMENT_REFUNDED,
    PAYMENT_SUCCEEDED,
    Activity,
    select_activity,
)
from db.payments import hold_attempt, insert_settled_payment, set_card_details
from tests import factories
from tests.queries import select_payment_by_intent
from tests.test_payment_flow import DECLINED, VISA, card_token, confirm, deliver, intent_of, start, step_urls
from tests.test_webhooks import card_payment, event, intent, post, signed
from web.dev.local_stripe import flush


@pytest.fixture
def stripe_api(stripe_base: str) -> httpx.AsyncClient:
    flush(stripe_base)
    return httpx.AsyncClient(base_url=stripe_base, headers={"Authorization": "Bearer sk_test_portal"})


async def payment_log(conn: asyncpg.Connection, invoice_id: int) -> list[Activity]:
    """The invoice's payment entries, oldest first."""
    return [a for a in reversed(await select_activity(conn, invoice_id)) if a.kind in PAYMENT_KINDS]


async def paid_by_card(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, issued: factories.Issued
) -> dict[str, Any]:
    """50.00 paid by card and the success webhook delivered; the intent as Stripe has it."""
    confirm_url, _ = step_urls(await start(client, issued, "50.00"))
    done = await confirm(client, confirm_url, await card_token(stripe_api, VISA))
    assert done.status_code == 200 and "went through" in done.text
    paid = await intent_of(conn, stripe_api, confirm_url)
    await deliver(client, "payment_intent.succeeded", paid)
    return paid


async def test_payment_activity_card_success(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    issued = await factories.invoice(conn)
    paid = await paid_by_card(client, conn, stripe_api, issued)
    payment = await select_payment_by_intent(conn, paid["id"])
    assert payment is not None
    attempted, succeeded = await payment_log(conn, issued.invoice.id)
    assert (attempted.kind, attempted.detail) == (
        PAYMENT_ATTEMPTED,
        {"payment_id": payment.id, "amount": 5000, "currency": "EUR", "method": "card"},
    )
    assert (succeeded.kind, succeeded.detail) == (
        PAYMENT_SUCCEEDED,
        {
            "payment_id": payment.id, "amount": 5000, "currency": "EUR", "method": "card",
            "card_brand": payment.card_brand, "card_last4": "4242",
        },
    )  # fmt: skip
    assert payment.card_brand  # the brand Stripe reported, as the portal shows it


async def test_payment_activity_declined_card(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    issued = await factories.invoice(conn)
    confirm_url, _ = step_urls(await start(client, issued, "30.00"))
    declined = await confirm(client, confirm_url, await card_token(stripe_api, DECLINED))
    assert "Your card was declined." in declined.text
    failed_intent = await intent_of(conn, stripe_api, confirm_url)
    failed_payment = await select_payment_by_intent(conn, failed_intent["id"])
    assert failed_payment is not None and failed_payment.status == "failed"
    # Stripe's own word arrives later: the attempt is already failed, so nothing more is logged.
    await deliver(client, "payment_intent.payment_failed", failed_intent)

    kinds = [(a.kind, a.detail["payment_id"]) for a in await payment_log(conn, issued.invoice.id)]
    fresh = await conn.fetchval("SELECT id FROM payments WHERE id <> $1", failed_payment.id)
    # The declined attempt, its failure, and the fresh attempt the card step offers for another try.
    assert kinds == [
        (PAYMENT_ATTEMPTED, failed_payment.id),
        (PAYMENT_FAILED, failed_payment.id),
        (PAYMENT_ATTEMPTED, fresh),
    ]
    failure = (await payment_log(conn, issued.invoice.id))[1]
    assert failure.detail["failure_message"] == "Your card was declined."
    assert failure.detail["amount"] == 3000 and failure.detail["method"] == "card"


async def test_payment_activity_refunds(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    issued = await factories.invoice(conn)
    paid = await paid_by_card(client, conn, stripe_api, issued)
    payment = await select_payment_by_intent(conn, paid["id"])
    assert payment is not None
    refund_events = []
    for amount in (2000, 500):
        refunded = await stripe_api.post("/v1/refunds", data={"payment_intent": paid["id"], "amount": str(amount)})
        assert refunded.status_code == 200, refunded.text
        charge = (await stripe_api.get(f"/v1/charges/{refunded.json()['charge']}")).json()
        refund_events.append(event("charge.refunded", charge))
        assert (await post(client, refund_events[-1])).json()["outcome"] == "applied"
    # Stripe retries the first event, and sends an older one again under a new id: the total did not grow.
    assert (await post(client, refund_events[0])).json()["outcome"] == "duplicate"
    assert (await post(client, event("charge.refunded", refund_events[0]["data"]["object"]))).json()["outcome"] == (
        "applied"
    )

    refunds = [a.detail for a in await payment_log(conn, issued.invoice.id) if a.kind == PAYMENT_REFUNDED]
    assert refunds == [
        {"payment_id": payment.id, "amount": 2000, "total_refunded": 2000, "currency": "EUR"},
        {"payment_id": payment.id, "amount": 500, "total_refunded": 2500, "currency": "EUR"},
    ]


async def test_payment_activity_manual_payment(conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    payment = await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=10000, currency="EUR", method="bank_transfer", reference="TRX 42"
    )
    [succeeded] = await payment_log(conn, issued.invoice.id)  # no "attempted": the money has already arrived
    assert (succeeded.kind, succeeded.detail) == (
        PAYMENT_SUCCEEDED,
        {
            "payment_id": payment.id,
            "amount": 10000,
            "currency": "EUR",
            "method": "bank_transfer",
            "reference": "TRX 42",
        },
    )
    await insert_settled_payment(conn, invoice_id=issued.invoice.id, amount=500, currency="EUR", method="other")
    other = (await payment_log(conn, issued.invoice.id))[-1]
    assert other.detail["method"] == "other" and "reference" not in other.detail and "card_last4" not in other.detail


async def test_payment_activity_duplicate_webhooks_log_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, 5000, "pi_twice")
    succeeded = event("payment_intent.succeeded", intent("pi_twice", 5000))
    body = json.dumps(succeeded).encode()
    outcomes = [
        (await client.post("/webhooks/stripe", content=body, headers=signed(body))).json()["outcome"] for _ in range(3)
    ]
    assert outcomes == ["applied", "duplicate", "duplicate"]
    # The same news under another event id changes nothing either.
    again = await post(client, event("payment_intent.succeeded", intent("pi_twice", 5000)))
    assert again.json()["outcome"] == "no change"
    kinds = [a.kind for a in await payment_log(conn, issued.invoice.id)]
    assert kinds == [PAYMENT_ATTEMPTED, PAYMENT_SUCCEEDED]


async def test_payment_activity_failed_twice_and_canceled(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, 4000, "pi_fail")
    error = {"last_payment_error": {"message": "Your card has insufficient funds."}}
    for _ in range(2):  # two distinct events with the same status: one entry
        assert (await post(client, event("payment_intent.payment_failed", intent("pi_fail", 4000, **error)))).json()[
            "outcome"
        ] == "applied"
    await card_payment(conn, issued.invoice.id, 3000, "pi_cancel")
    payment = await select_payment_by_intent(conn, "pi_cancel")
    assert payment is not None
    # Writes that leave the status alone log nothing.
    await set_card_details(conn, payment.id, brand="visa", last4="4242")
    await hold_attempt(conn, payment.id, amount=3000, until=datetime.now(UTC) + timedelta(seconds=60))
    await post(client, event("payment_intent.canceled", intent("pi_cancel", 3000)))

    log = [(a.kind, a.detail.get("failure_message")) for a in await payment_log(conn, issued.invoice.id)]
    assert log == [
        (PAYMENT_ATTEMPTED, None),
        (PAYMENT_FAILED, "Your card has insufficient funds."),
        (PAYMENT_ATTEMPTED, None),
        (PAYMENT_CANCELED, None),
    ]
    canceled = (await payment_log(conn, issued.invoice.id))[-1]
    assert canceled.detail == {"payment_id": payment.id, "amount": 3000, "currency": "EUR", "method": "card"}
