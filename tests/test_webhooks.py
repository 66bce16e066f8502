"""POST /webhooks/stripe: signatures, each event once, any order, refunds, and the invoice following along."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import stripe

from db.payments import insert_card_attempt, set_payment_intent
from tests import factories
from tests.conftest import WEBHOOK_SECRET
from tests.queries import select_invoice, select_payment_by_intent
from web.dev.local_stripe import flush

_ids = itertools.count(1)
TOTAL = 17250  # factories.invoice(): 172.50 EUR


def event(kind: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    return {"id": f"evt_{next(_ids)}_{time.time_ns()}", "object": "event", "type": kind,
            "created": created or int(time.time()), "data": {"object": obj}}  # fmt: skip


def signed(body: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"}


async def post(client: httpx.AsyncClient, payload: dict[str, Any], **sign: Any) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await client.post("/webhooks/stripe", content=body, headers=signed(body, **sign))


async def card_payment(conn: asyncpg.Connection, invoice_id: int, amount: int, intent_id: str) -> None:
    payment, _ = await insert_card_attempt(
        conn,
        invoice_id=invoice_id,
        amount=amount,
        currency="EUR",
        attempt_key=intent_id,
        client="192.0.2.1",
        now=datetime.now(UTC),
        stripe_account_id=None,
    )
    await set_payment_intent(conn, payment.id, intent_id)


def intent(intent_id: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"id": intent_id, "object": "payment_intent", "amount": amount, "currency": "eur", **extra}


async def test_webhooks_succeeded_pays_the_invoice(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, TOTAL, "pi_full")
    card = {"payment_method_details": {"card": {"brand": "visa", "last4": "4242"}}}
    response = await post(client, event("payment_intent.succeeded", intent("pi_full", TOTAL, latest_charge=card)))
    assert response.status_code == 200 and response.json()["outcome"] == "applied"
    payment = await select_payment_by_intent(conn, "pi_full")
    assert (
        payment is not None
        and payment.status == "succeeded"
        and (payment.card_brand, payment.card_last4) == ("visa", "4242")
    )
    invoice = await select_invoice(conn, issued.invoice.id)
    assert invoice is not None and invoice.status == "paid" and invoice.paid_at is not None


async def test_webhooks_partial_payment_keeps_invoice_open(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, 5000, "pi_part")
    assert (await post(client, event("payment_intent.succeeded", intent("pi_part", 5000)))).status_code == 200
    invoice = await select_invoice(conn, issued.invoice.id)
    assert invoice is not None and invoice.status == "open"


async def test_webhooks_same_event_twice_is_applied_once(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, 5000, "pi_dup")
    refund = event(
        "charge.refunded", {"id": "ch_1", "object": "charge", "payment_intent": "pi_dup", "amount_refunded": 1000}
    )
    await post(client, event("payment_intent.succeeded", intent("pi_dup", 5000)))
    outcomes = [(await post(client, refund)).json()["outcome"] for _ in range(3)]
    assert outcomes == ["applied", "duplicate", "duplicate"]
    payment = await select_payment_by_intent(conn, "pi_dup")
    assert payment is not None and payment.amount_refunded == 1000
    assert await conn.fetchval("SELECT count(*) FROM stripe_events WHERE id = $1", refund["id"]) == 1


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        ([("payment_intent.succeeded", 20), ("payment_intent.processing", 10)], "succeeded"),  # out of order
        ([("payment_intent.succeeded", 10), ("payment_intent.payment_failed", 30)], "succeeded"),  # late failure
        ([("payment_intent.processing", 30), ("payment_intent.payment_failed", 10)], "processing"),  # older failure
        ([("payment_intent.payment_failed", 10), ("payment_intent.succeeded", 20)], "succeeded"),  # retry worked
        ([("payment_intent.canceled", 10)], "canceled"),
    ],
)
async def test_webhooks_any_order(
    client: httpx.AsyncClient, conn: asyncpg.Connection, sequence: list[tuple[str, int]], final: str
) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, 5000, "pi_order")
    base = int(time.time()) - 100
    for kind, offset in sequence:
        assert (await post(client, event(kind, intent("pi_order", 5000), created=base + offset))).status_code == 200
    payment = await select_payment_by_intent(conn, "pi_order")
    assert payment is not None and payment.status == final


async def test_webhooks_refund_makes_amount_due_again(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, TOTAL, "pi_refund")
    await post(client, event("payment_intent.succeeded", intent("pi_refund", TOTAL)))
    await post(client, event("charge.refunded", {"id": "ch", "payment_intent": "pi_refund", "amount_refunded": 2250}))
    invoice = await select_invoice(conn, issued.invoice.id)
    assert invoice is not None and invoice.status == "open" and invoice.paid_at is None
    page = await client.get(issued.url)
    assert "€22.50" in page.text  # amount due again


@pytest.mark.parametrize("problem", ["bad secret", "tampered", "stale", "missing"])
async def test_webhooks_bad_signature_changes_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, problem: str
) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, TOTAL, "pi_forged")
    payload = event("payment_intent.succeeded", intent("pi_forged", TOTAL))
    body = json.dumps(payload).encode()
    headers = (
        signed(body, secret="whsec_wrong")
        if problem == "bad secret"
        else signed(body, at=int(time.time()) - 900 if problem == "stale" else None)
    )
    if problem == "tampered":
        body = body.replace(b"17250", b"99999")
    if problem == "missing":
        headers.pop("Stripe-Signature")
    response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 400
    assert await conn.fetchval("SELECT count(*) FROM stripe_events") == 0
    payment = await select_payment_by_intent(conn, "pi_forged")
    assert payment is not None and payment.status == "pending"


async def test_webhooks_other_types_are_acknowledged(client: httpx.AsyncClient) -> None:
    response = await post(client, event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"


async def test_webhooks_overpayment_is_refunded(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_base: str
) -> None:
    """Two tabs both paid the full balance: the second success is refunded down to the total, and recorded."""
    flush(stripe_base)
    sdk = stripe.StripeClient("sk_test_portal", base_addresses={"api": stripe_base}, max_network_retries=0)
    issued = await factories.invoice(conn)
    intents = []
    for _ in range(2):
        method = sdk.v1.payment_methods.create(
            {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
        )  # type: ignore[typeddict-item]
        pi = sdk.v1.payment_intents.create({"amount": TOTAL, "currency": "eur", "payment_method_types": ["card"]})
        sdk.v1.payment_intents.update(pi.id, {"payment_method": method.id})
        intents.append(sdk.v1.payment_intents.confirm(pi.id))
        await card_payment(conn, issued.invoice.id, TOTAL, pi.id)
    assert [i.status for i in intents] == ["succeeded", "succeeded"]
    for pi in intents:
        assert (await post(client, event("payment_intent.succeeded", intent(pi.id, TOTAL)))).status_code == 200
    first, second = [await select_payment_by_intent(conn, pi.id) for pi in intents]
    assert first is not None and second is not None
    assert (first.amount_refunded, second.amount_refunded) == (0, TOTAL)
    invoice = await select_invoice(conn, issued.invoice.id)
    assert invoice is not None and invoice.status == "paid"
    refunds = sdk.v1.refunds.list({"payment_intent": intents[1].id}).data  # type: ignore[typeddict-unknown-key]
    assert sum(r.amount for r in refunds) == TOTAL


@pytest.mark.parametrize(
    "payload",
    [
        # What the deep sweep found reaching a 500: a signed event whose object lacks its id, a timestamp past
        # year 9999, an amount beyond bigint, and shapes no handler expected.
        event("payment_intent.succeeded", {"object": "payment_intent", "amount": 100}),
        {**event("payment_intent.succeeded", intent("pi_x", 100)), "created": 1_077_451_200_000},
        event("payment_intent.succeeded", intent("pi_x", 100, amount_received=2**70)),
        event("charge.refunded", {"id": "ch_1", "payment_intent": "pi_x"}),
        event("charge.refunded", {"id": "ch_1", "payment_intent": ["pi_x"], "amount_refunded": 5}),
        {**event("payment_intent.succeeded", intent("pi_x", 100)), "id": 12},
    ],
)
async def test_a_signed_event_of_the_wrong_shape_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, payload: dict[str, Any]
) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, TOTAL, "pi_x")
    answer = await post(client, payload)
    assert answer.status_code == 400 and "Not an event we understand" in answer.json()["error"]
    assert await conn.fetchval("SELECT count(*) FROM stripe_events") == 0
    assert await conn.fetchval("SELECT status FROM payments") == "pending"


async def test_a_refunded_charge_without_a_payment_intent_is_not_ours(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    answer = await post(client, event("charge.refunded", {"id": "ch_1", "payment_intent": None, "amount_refunded": 5}))
    assert answer.status_code == 200 and answer.json()["outcome"] == "no change"
