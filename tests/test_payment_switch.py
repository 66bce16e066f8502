"""The per-invoice online-payment switch: when the billing team turns it off, the page offers bank transfer only
and every card payment step refuses without creating or charging anything."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from db.invoices import void_invoice
from db.payments import insert_settled_payment
from tests import factories
from tests.queries import select_invoice
from tests.test_payment_flow import HX, TOTAL, card_token, confirm, intent_of, soup, start, step_urls
from tests.words import english
from web.dev.local_stripe import flush
from web.invoices.documents import load_document
from web.payments.checkout import PAYMENTS_OFF, availability
from web.settings import Settings


@pytest.fixture
def stripe_api(stripe_base: str) -> httpx.AsyncClient:
    flush(stripe_base)
    return httpx.AsyncClient(base_url=stripe_base, headers={"Authorization": "Bearer sk_test_portal"})


async def switch_off(conn: asyncpg.Connection, invoice_id: int) -> None:
    await conn.execute("UPDATE invoices SET payments_enabled = false WHERE id = $1", invoice_id)


async def reason(conn: asyncpg.Connection, settings: Settings, invoice_id: int) -> str:
    invoice = await select_invoice(conn, invoice_id)
    assert invoice is not None
    gate = availability(settings, await load_document(conn, invoice))
    assert not gate.payable or gate.reason is None
    return english(gate.reason) if gate.reason else ""


async def test_payment_switch_off_shows_bank_transfer_only(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Any
) -> None:
    issued = await factories.invoice(conn)
    assert soup(await client.get(issued.url)).find(id="payment").find("form") is not None
    await switch_off(conn, issued.invoice.id)
    await settle()
    for response in (await client.get(issued.url), await client.get(f"{issued.url}/summary", headers=HX)):
        assert response.status_code == 200
        card = soup(response).find(id="payment")
        assert card.find("form") is None and card.find(id="payment-amount") is None
        assert card.find(class_="payment-unavailable").get_text(strip=True) == PAYMENTS_OFF.text
        assert "IBAN DE89" in card.get_text()  # the way to pay that is left


async def test_payment_switch_off_refuses_payment_post(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, settle: Any
) -> None:
    issued = await factories.invoice(conn)
    await switch_off(conn, issued.invoice.id)
    await settle()
    for headers in (HX, {}):  # htmx, and a plain form post
        response = await client.post(
            f"{issued.url}/payments", data={"amount": "50.00", "attempt_key": "k" * 24}, headers=headers
        )
        assert response.status_code == 409
        assert PAYMENTS_OFF.text in soup(response).find(id="payment").get_text()
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0
    assert (await stripe_api.get("/v1/payment_intents")).json()["data"] == []


async def test_payment_switch_off_cancels_an_attempt_started_before(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, settle: Any
) -> None:
    """The customer had the card step open when the billing team switched online payment off."""
    issued = await factories.invoice(conn)
    confirm_url, _ = step_urls(await start(client, issued, "50.00"))
    await switch_off(conn, issued.invoice.id)
    await settle()
    closed = await confirm(client, confirm_url, await card_token(stripe_api))
    assert closed.status_code == 409
    assert "not charged" in closed.text and "turned off" in closed.text
    assert (await intent_of(conn, stripe_api, confirm_url))["status"] == "canceled"
    assert (await stripe_api.get("/v1/charges")).json()["data"] == []
    assert await conn.fetchval("SELECT status FROM payments") == "canceled"


async def test_payment_switch_paid_and_void_messages_come_first(conn: asyncpg.Connection, settings: Settings) -> None:
    issued = await factories.invoice(conn)
    await switch_off(conn, issued.invoice.id)
    assert await reason(conn, settings, issued.invoice.id) == PAYMENTS_OFF.text
    await conn.execute("UPDATE invoices SET payments_enabled = true WHERE id = $1", issued.invoice.id)
    assert await reason(conn, settings, issued.invoice.id) == ""

    paid = await factories.invoice(conn, ws=issued.workspace)
    await switch_off(conn, paid.invoice.id)
    await insert_settled_payment(conn, invoice_id=paid.invoice.id, amount=TOTAL, currency="EUR", method="other")
    assert "paid in full" in await reason(conn, settings, paid.invoice.id)

    voided = await factories.invoice(conn, ws=issued.workspace)
    await switch_off(conn, voided.invoice.id)
    await void_invoice(conn, voided.invoice.id, "duplicate")
    assert "voided" in await reason(conn, settings, voided.invoice.id)
