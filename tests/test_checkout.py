"""Starting a card payment against localstripe: gates, amount rules, one intent per attempt, Stripe down."""

from __future__ import annotations

import dataclasses
import secrets
import socket
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from db.invoices import void_invoice
from db.payments import insert_settled_payment
from tests import factories
from tests.queries import select_invoice
from tests.words import english
from web.dev.local_stripe import flush
from web.invoices.documents import InvoiceDocument, load_document
from web.payments.amounts import AmountError, parse_amount, rules_for
from web.payments.checkout import availability, payment_card, start_card_payment
from web.settings import Settings
from web.stripe.accounts import StripeAccount
from web.stripe.gateway import ProviderUnavailable, StripeGateway


def who() -> dict[str, Any]:
    """Who starts the attempt, and when: what the view passes from the request and the app's clock."""
    return {"client": "192.0.2.1", "now": datetime.now(UTC)}


def deployment(gateway: StripeGateway) -> StripeAccount:
    """The deployment's account (the environment's keys), as the app builds it."""
    return StripeAccount(None, None, "pk_test_portal", "whsec_test_portal", gateway)


@pytest.fixture
def account(stripe_base: str) -> StripeAccount:
    flush(stripe_base)
    return deployment(StripeGateway("sk_test_portal", api_base=stripe_base))


async def document_of(conn: asyncpg.Connection, issued: factories.Issued) -> InvoiceDocument:
    current = await select_invoice(conn, issued.invoice.id)
    assert current is not None
    return await load_document(conn, current)


async def test_checkout_gates(conn: asyncpg.Connection, settings: Settings) -> None:
    issued = await factories.invoice(conn)
    assert availability(settings, await document_of(conn, issued)).payable
    unconnected = dataclasses.replace(settings, stripe_secret_key="")
    assert "not available" in english(availability(unconnected, await document_of(conn, issued)).reason)
    await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=17220, currency="EUR", method="bank_transfer"
    )
    small = availability(settings, await document_of(conn, issued))
    assert not small.payable and "€0.50" in english(small.reason)  # €0.30 left: below Stripe's minimum
    await void_invoice(conn, issued.invoice.id, "duplicate")
    assert "voided" in english(availability(settings, await document_of(conn, issued)).reason)


async def test_checkout_creates_one_intent_per_attempt(conn: asyncpg.Connection, account: StripeAccount) -> None:
    issued = await factories.invoice(conn)
    document = await document_of(conn, issued)
    key = secrets.token_urlsafe(16)
    first_payment, first_intent = await start_card_payment(
        conn, account, document, amount_text="50.00", locale="en", attempt_key=key, **who()
    )
    again_payment, again_intent = await start_card_payment(
        conn, account, document, amount_text="50.00", locale="en", attempt_key=key, **who()
    )
    assert (first_payment.id, first_intent.id) == (again_payment.id, again_intent.id)
    assert first_intent.amount == 5000 and first_intent.currency == "EUR"
    assert await conn.fetchval("SELECT count(*) FROM payments WHERE invoice_id = $1", issued.invoice.id) == 1
    with pytest.raises(AmountError, match="another amount"):
        await start_card_payment(conn, account, document, amount_text="60.00", locale="en", attempt_key=key, **who())


# 172.20 would leave €0.30, which no card could pay; 0.015 is no thousands group.
@pytest.mark.parametrize("text", ["", "1e3", "NaN", "-5", "0", "١٢", "172.51", "0.10", "172.20", "0,015"])
async def test_checkout_refuses_bad_amounts_without_writing(
    conn: asyncpg.Connection, account: StripeAccount, text: str
) -> None:
    issued = await factories.invoice(conn)
    with pytest.raises(AmountError):
        await start_card_payment(
            conn,
            account,
            await document_of(conn, issued),
            amount_text=text,
            locale="en",
            attempt_key=secrets.token_urlsafe(16),
            **who(),
        )
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0


async def test_checkout_stripe_down_loses_nothing_and_retry_succeeds(
    conn: asyncpg.Connection, account: StripeAccount
) -> None:
    issued = await factories.invoice(conn)
    document = await document_of(conn, issued)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = deployment(StripeGateway("sk_test_portal", api_base=f"http://127.0.0.1:{port}", timeout=2))
    key = secrets.token_urlsafe(16)
    with pytest.raises(ProviderUnavailable):
        await start_card_payment(conn, down, document, amount_text="20", locale="en", attempt_key=key, **who())
    payment, intent = await start_card_payment(
        conn, account, document, amount_text="20", locale="en", attempt_key=key, **who()
    )
    assert intent.amount == 2000
    assert await conn.fetchval("SELECT count(*) FROM payments") == 1
    assert await conn.fetchval("SELECT stripe_payment_intent_id FROM payments WHERE id = $1", payment.id) == intent.id


async def test_checkout_three_decimal_rest_states_the_true_minimum_and_how_to_pay_it(
    conn: asyncpg.Connection, settings: Settings, account: StripeAccount
) -> None:
    """KWD 12.345: a card charge must end in 0, so a card pays 12.340 and the last 0.005 needs another way."""
    issued = await factories.invoice(conn, currency="KWD", lines=[factories.line("Freight", "1", 12345, "0")])
    card = payment_card(settings, await document_of(conn, issued), "en")
    assert card.availability.payable and card.prefill == "12.340"
    assert "up to KWD\xa012.340" in english(card.hint)
    hint = english(card.hint)
    assert "The last KWD\xa00.005 cannot be paid by card" in hint and "by bank transfer" in hint

    _payment, intent = await start_card_payment(
        conn, account, await document_of(conn, issued), amount_text=card.prefill, locale="en",
        attempt_key=secrets.token_urlsafe(16), **who(),
    )  # fmt: skip
    assert intent.amount == 12340
    await insert_settled_payment(conn, invoice_id=issued.invoice.id, amount=12340, currency="KWD", method="other")
    rest = availability(settings, await document_of(conn, issued))
    assert not rest.payable and "0.001" not in english(rest.reason)
    assert "The amount due (KWD\xa00.005) is below the smallest card payment (KWD\xa00.010)" in english(rest.reason)
    assert "Please pay it by bank transfer, with the bank details on the invoice." in english(rest.reason)


async def test_checkout_rest_below_the_minimum_without_bank_details_names_whom_to_write(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    ws = await factories.workspace(conn, bank_transfer_instructions="")
    issued = await factories.invoice(conn, ws=ws, currency="KWD", lines=[factories.line("Freight", "1", 5, "0")])
    rest = availability(settings, await document_of(conn, issued))
    assert not rest.payable and "below the smallest card payment (KWD\xa00.010)" in english(rest.reason)
    assert "Please write to billing@acme.example to settle it." in english(rest.reason)


@pytest.mark.parametrize(
    ("currency", "unit_price", "prefill", "says"),
    [
        ("EUR", 70, "0.70", "Pay €0.70 in one card payment: a smaller amount would leave less than"),
        ("EUR", 50, "0.50", "Pay €0.50 in one card payment, the smallest card payment in EUR."),
        ("EUR", 17250, "172.50", "A part payment must leave at least €0.50 for a later card payment."),
        # Above Stripe's largest card payment: the prefill is a part that leaves a card-payable rest.
        ("USD", 100_000_010, "999999.60", "$999,999.60 is the most one card payment can be"),
    ],
)
async def test_checkout_prefill_is_accepted_and_the_hint_says_what_is(
    conn: asyncpg.Connection, settings: Settings, currency: str, unit_price: int, prefill: str, says: str
) -> None:
    lines = [factories.line("Work", "1", unit_price, "0")]
    document = await document_of(conn, await factories.invoice(conn, currency=currency, lines=lines))
    card = payment_card(settings, document, "en")
    assert card.prefill == prefill and says in english(card.hint), english(card.hint)
    rules = rules_for(currency, document.amount_due)
    assert parse_amount(card.prefill, rules, "en") == rules.highest_charge
