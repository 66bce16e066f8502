"""Faults on the paths that were not yet covered: the mail server down while a code is asked for, Stripe down at
each of its calls, the database connection cut in the middle of a webhook and of a send. Each time: a readable
answer (never a 500), nothing half-written, and the same request succeeds once the fault is gone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import httpx
import pytest

from db.invoices import void_invoice
from tests import factories
from tests.conftest import AppVariant, MovableClock, asgi_client, connect
from tests.live import free_port
from tests.mailbox import Mailbox
from tests.test_console_builder import THREE, billing, draft_data, new_customer, new_draft
from tests.test_hostile_http import assert_security_headers
from tests.test_payment_flow import card_token, confirm, start, step_urls
from tests.test_webhooks import TOTAL, card_payment, event, intent, signed
from tests.threads import ask_code, form_error
from web.views.comments import MAIL_DOWN


@pytest.fixture
async def client_mail_down(app_variant: AppVariant) -> AsyncIterator[httpx.AsyncClient]:
    """The same portal and database, with the mail server unreachable."""
    async with app_variant(smtp_url=f"smtp://127.0.0.1:{free_port()}") as manager, asgi_client(manager) as http:
        yield http


async def test_mail_server_down_while_a_code_is_asked_for(
    client: httpx.AsyncClient, client_mail_down: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    refused = await ask_code(client_mail_down, issued, name="Claire Dubois")
    assert refused.status_code == 503
    assert form_error(refused.text) == MAIL_DOWN.text  # told, not "we have sent a code"
    assert "Claire Dubois" in refused.text and "ap@customer.example" in refused.text  # the input is kept
    assert_security_headers(refused)
    for table in ("comment_code_requests", "comment_codes", "outbox"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table  # nothing half-written
    again = await ask_code(client, issued)  # the mail server is back: asking again just works
    assert again.status_code == 200
    assert len(await mailbox.code_for("ap@customer.example", 1)) == 6


async def test_stripe_down_at_the_return_path_the_lowering_and_the_cancel(
    client: httpx.AsyncClient,
    client_stripe_down: httpx.AsyncClient,
    conn: asyncpg.Connection,
    stripe_api: httpx.AsyncClient,
) -> None:
    """Creating and confirming are covered in test_payment_flow; these are the other calls a reader's request
    makes: retrieve (the 3-D Secure return), update (an attempt lowered to what is left), cancel (nothing left)."""
    issued = await factories.invoice(conn)
    partial_url, partial_return = step_urls(await start(client, issued, "100.00"))
    full_url, _ = step_urls(await start(client, issued, "172.50"))
    # Retrieve: the return path says "try again", keeps the attempt.
    returned = await client_stripe_down.post(partial_return, headers={"HX-Request": "true"})
    assert returned.status_code == 503 and "try again" in returned.text.lower()
    assert "went through" in (await confirm(client, partial_url, await card_token(stripe_api))).text
    # Update: the second tab's attempt is lowered to what is left; confirming it must update it at Stripe.
    lowered = await confirm(client_stripe_down, full_url, await card_token(stripe_api))
    assert lowered.status_code == 409 and "€72.50 is due now" in lowered.text
    down = await confirm(client_stripe_down, full_url, await card_token(stripe_api))
    assert down.status_code == 503 and "try again" in down.text.lower()
    assert step_urls(down)[0] == full_url  # the same attempt, kept
    again = await confirm(client, full_url, await card_token(stripe_api))
    assert again.status_code == 200 and "€72.50 went through" in again.text
    # Cancel: an attempt whose invoice was voided meanwhile must cancel its intent at Stripe.
    voided = await factories.invoice(conn, ws=issued.workspace)
    void_url, _ = step_urls(await start(client, voided, "50.00"))
    await void_invoice(conn, voided.invoice.id, "issued twice")
    closed = await confirm(client_stripe_down, void_url, await card_token(stripe_api))
    # Stripe unreachable does not matter here: the attempt ends on our side and no card is ever charged for it
    # (an intent never confirmed charges nothing; Stripe expires it).
    assert closed.status_code == 409 and "voided and cannot be paid. Your card was not charged." in closed.text
    assert await conn.fetchval("SELECT status FROM payments WHERE invoice_id = $1", voided.invoice.id) == "canceled"


async def test_stripe_down_when_a_webhook_must_refund_an_overpayment(
    client: httpx.AsyncClient, client_stripe_down: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """Two tabs both paid in full: the second success must be refunded in the transaction that records it."""
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, TOTAL, "pi_first")
    await card_payment(conn, issued.invoice.id, TOTAL, "pi_second")
    first = json.dumps(event("payment_intent.succeeded", intent("pi_first", TOTAL, status="succeeded"))).encode()
    assert (await client.post("/webhooks/stripe", content=first, headers=signed(first))).status_code == 200
    second = json.dumps(event("payment_intent.succeeded", intent("pi_second", TOTAL, status="succeeded"))).encode()
    answer = await client_stripe_down.post("/webhooks/stripe", content=second, headers=signed(second))
    # The excess cannot be refunded now: nothing is recorded, and Stripe is told to send the event again.
    assert answer.status_code == 503
    assert await conn.fetchval("SELECT status FROM payments WHERE stripe_payment_intent_id = 'pi_second'") == "pending"
    assert await conn.fetchval("SELECT count(*) FROM stripe_events") == 1
    # Stripe back, but it refuses this refund (localstripe has no such charge): that is no reason to fail the
    # event forever. The payment is recorded and the overpayment logged for a person to settle.
    retried = await client.post("/webhooks/stripe", content=second, headers=signed(second))
    assert retried.status_code == 200
    assert await conn.fetchval("SELECT status FROM payments WHERE stripe_payment_intent_id = 'pi_second'") == (
        "succeeded"
    )


async def _cut_connection_while_it_waits(conn: asyncpg.Connection) -> None:
    """Wait until the app's statement queues behind our lock, then cut its connection, as a restart would."""
    for _ in range(500):
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()"
        )
        if pids:
            break
        await asyncio.sleep(0.01)
    assert pids, "the request never reached the locked row"
    for row in pids:
        await conn.execute("SELECT pg_terminate_backend($1)", row["pid"])


async def test_database_connection_cut_in_the_middle_of_a_webhook(
    client: httpx.AsyncClient, conn: asyncpg.Connection, database_url: str
) -> None:
    issued = await factories.invoice(conn)
    await card_payment(conn, issued.invoice.id, 5000, "pi_cut")
    body = json.dumps(event("payment_intent.succeeded", intent("pi_cut", 5000, status="succeeded"))).encode()
    holder = await connect(database_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM invoices WHERE id = $1 FOR UPDATE", issued.invoice.id)
            request = asyncio.create_task(client.post("/webhooks/stripe", content=body, headers=signed(body)))
            await _cut_connection_while_it_waits(conn)
        answer = await request
    finally:
        await holder.close()
    assert answer.status_code == 503  # Stripe sends it again later
    assert await conn.fetchval("SELECT count(*) FROM stripe_events") == 0  # the event id rolled back with the rest
    assert await conn.fetchval("SELECT status FROM payments") == "pending"
    resent = await client.post("/webhooks/stripe", content=body, headers=signed(body))
    assert resent.status_code == 200 and resent.json()["outcome"] != "duplicate"
    assert await conn.fetchval("SELECT status FROM payments") == "succeeded"


async def test_database_connection_cut_in_the_middle_of_a_send(
    client: httpx.AsyncClient, conn: asyncpg.Connection, database_url: str, clock: MovableClock, mailbox: Mailbox
) -> None:
    ws, csrf = await billing(client, conn, clock)
    customer_id = await new_customer(client, csrf)
    invoice_id = await new_draft(client, csrf, customer_id)
    data = draft_data(csrf, customer_id, THREE, "send")
    await conn.execute(
        "INSERT INTO invoice_number_counters (workspace_id, year, last_value) VALUES ($1, $2, 0)",
        ws.id, date.today().year,
    )  # fmt: skip
    holder = await connect(database_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM invoice_number_counters WHERE workspace_id = $1 FOR UPDATE", ws.id)
            request = asyncio.create_task(client.post(f"/console/invoices/{invoice_id}/draft", data=data))
            await _cut_connection_while_it_waits(conn)
        answer = await request
    finally:
        await holder.close()
    assert answer.status_code == 503 and "try again" in answer.text.lower()
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", invoice_id) == "draft"
    assert (
        await conn.fetchval("SELECT count(*) FROM outbox") == 0
        and await conn.fetchval("SELECT count(*) FROM portal_links WHERE invoice_id = $1", invoice_id) == 0
    )
    again = await client.post(f"/console/invoices/{invoice_id}/draft", data=data, headers={"HX-Request": "true"})
    assert again.status_code == 204
    assert await conn.fetchval("SELECT number FROM invoices WHERE id = $1", invoice_id) == (
        f"INV-{date.today().year}-0001"
    )
    assert len(mailbox.to("ap@customer.example")) == 1
