"""Starting a card payment against localstripe: gates, amount rules, one intent per attempt, Stripe down."""

from __future__ import annotations

import dataclasses
import secrets
import socket

import asyncpg
import pytest

from db.invoices import void_invoice
from db.payments import insert_settled_payment
from tests import factories
from tests.queries import select_invoice
from web.dev.local_stripe import flush
from web.invoices.documents import InvoiceDocument, load_document
from web.payments.amounts import AmountError
from web.payments.checkout import availability, start_card_payment
from web.settings import Settings
from web.stripe.gateway import ProviderUnavailable, StripeGateway


@pytest.fixture
def gateway(stripe_base: str) -> StripeGateway:
    flush(stripe_base)
    return StripeGateway("sk_test_portal", api_base=stripe_base)


async def document_of(conn: asyncpg.Connection, issued: factories.Issued) -> InvoiceDocument:
    current = await select_invoice(conn, issued.invoice.id)
    assert current is not None
    return await load_document(conn, current)


async def test_checkout_gates(conn: asyncpg.Connection, settings: Settings) -> None:
    issued = await factories.invoice(conn)
    assert availability(settings, await document_of(conn, issued), "en").payable
    unconnected = dataclasses.replace(settings, stripe_secret_key="")
    assert "not available" in availability(unconnected, await document_of(conn, issued), "en").reason
    await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=17220, currency="EUR", method="bank_transfer"
    )
    small = availability(settings, await document_of(conn, issued), "en")
    assert not small.payable and "€0.50" in small.reason  # €0.30 left: below Stripe's minimum
    await void_invoice(conn, issued.invoice.id, "duplicate")
    assert "voided" in availability(settings, await document_of(conn, issued), "en").reason


async def test_checkout_creates_one_intent_per_attempt(conn: asyncpg.Connection, gateway: StripeGateway) -> None:
    issued = await factories.invoice(conn)
    document = await document_of(conn, issued)
    key = secrets.token_urlsafe(16)
    first_payment, first_intent = await start_card_payment(
        conn, gateway, document, amount_text="50.00", locale="en", attempt_key=key
    )
    again_payment, again_intent = await start_card_payment(
        conn, gateway, document, amount_text="50.00", locale="en", attempt_key=key
    )
    assert (first_payment.id, first_intent.id) == (again_payment.id, again_intent.id)
    assert first_intent.amount == 5000 and first_intent.currency == "EUR"
    assert await conn.fetchval("SELECT count(*) FROM payments WHERE invoice_id = $1", issued.invoice.id) == 1
    with pytest.raises(AmountError, match="another amount"):
        await start_card_payment(conn, gateway, document, amount_text="60.00", locale="en", attempt_key=key)


@pytest.mark.parametrize("text", ["", "1e3", "NaN", "-5", "0", "١٢", "172.51", "0.10"])
async def test_checkout_refuses_bad_amounts_without_writing(
    conn: asyncpg.Connection, gateway: StripeGateway, text: str
) -> None:
    issued = await factories.invoice(conn)
    with pytest.raises(AmountError):
        await start_card_payment(
            conn,
            gateway,
            await document_of(conn, issued),
            amount_text=text,
            locale="en",
            attempt_key=secrets.token_urlsafe(16),
        )
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0


async def test_checkout_stripe_down_loses_nothing_and_retry_succeeds(
    conn: asyncpg.Connection, gateway: StripeGateway
) -> None:
    issued = await factories.invoice(conn)
    document = await document_of(conn, issued)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = StripeGateway("sk_test_portal", api_base=f"http://127.0.0.1:{port}", timeout=2)
    key = secrets.token_urlsafe(16)
    with pytest.raises(ProviderUnavailable):
        await start_card_payment(conn, down, document, amount_text="20", locale="en", attempt_key=key)
    payment, intent = await start_card_payment(conn, gateway, document, amount_text="20", locale="en", attempt_key=key)
    assert intent.amount == 2000
    assert await conn.fetchval("SELECT count(*) FROM payments") == 1
    assert await conn.fetchval("SELECT stripe_payment_intent_id FROM payments WHERE id = $1", payment.id) == intent.id
