"""The customer's card payment over HTTP, against localstripe with the real stripe SDK: the payment card and its
gates, the amount form, the card step, confirmation (declines, 3-D Secure), Stripe down, the summary poll, and
the two-tab race where nobody may be charged beyond the balance."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from bs4 import BeautifulSoup

from db.invoices import void_invoice
from db.payments import insert_card_attempt, insert_settled_payment
from tests import factories
from tests.test_webhooks import event, signed
from web.payments.checkout import MAX_ATTEMPTS_PER_INVOICE
from web.settings import Settings

TOTAL = 17250  # factories.invoice(): 172.50 EUR
HX = {"HX-Request": "true"}
VISA, DECLINED, THREE_D_SECURE = "4242424242424242", "4000000000000341", "4000002760003184"


def soup(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


async def card_token(stripe_api: httpx.AsyncClient, number: str = VISA) -> str:
    """What Stripe.js's createToken does with the card Element's contents."""
    card = {"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034", "card[cvc]": "123"}
    response = await stripe_api.post("/v1/tokens", data={**card, "key": "pk_test_portal"})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def start(
    client: httpx.AsyncClient,
    issued: factories.Issued,
    amount: str,
    key: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    data = {"amount": amount, "attempt_key": key or secrets.token_urlsafe(18)}
    return await client.post(f"{issued.url}/payments", data=data, headers={**HX, **(headers or {})})


def step_urls(response: httpx.Response) -> tuple[str, str]:
    card = soup(response).find(id="payment")
    assert card is not None, response.text
    return str(card["data-confirm-url"]), str(card["data-return-url"])


async def confirm(client: httpx.AsyncClient, confirm_url: str, token: str) -> httpx.Response:
    return await client.post(confirm_url, data={"card_token": token}, headers=HX)


async def intent_of(conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, confirm_url: str) -> dict[str, Any]:
    attempt = confirm_url.split("/")[-2]
    intent_id = await conn.fetchval("SELECT stripe_payment_intent_id FROM payments WHERE attempt_key = $1", attempt)
    response = await stripe_api.get(f"/v1/payment_intents/{intent_id}")
    assert response.status_code == 200
    return dict(response.json())


async def deliver(client: httpx.AsyncClient, kind: str, intent: dict[str, Any]) -> None:
    """The webhook Stripe sends for `intent`, signed with our secret (localstripe's own delivery needs a live
    server; the browser test uses that)."""
    body = json.dumps(event(kind, intent)).encode()
    response = await client.post("/webhooks/stripe", content=body, headers=signed(body))
    assert response.status_code == 200, response.text


async def test_payment_card_prefilled_and_gated(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Any
) -> None:
    issued = await factories.invoice(conn)
    page = soup(await client.get(issued.url))
    amount = page.find(id="payment-amount")
    assert amount is not None and amount["value"] == "172.50" and amount["inputmode"] == "decimal"
    assert "€0.50" in page.find(id="payment-amount-hint").get_text()
    assert "IBAN DE89" in page.find(id="payment").get_text()  # bank transfer offered alongside

    await void_invoice(conn, issued.invoice.id, "wrong customer")
    await settle()
    voided = soup(await client.get(issued.url)).find(id="payment")
    assert voided.find("form") is None and "voided and cannot be paid" in voided.get_text()
    assert "IBAN" not in voided.get_text()  # nothing to transfer for a void invoice


async def test_payment_card_below_minimum_points_to_bank_transfer(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn)
    await insert_settled_payment(conn, invoice_id=issued.invoice.id, amount=TOTAL - 30, currency="EUR", method="other")
    card = soup(await client.get(issued.url)).find(id="payment")
    assert card.find("form") is None
    assert "below the smallest card payment (€0.50)" in card.get_text() and "IBAN DE89" in card.get_text()


@pytest.mark.parametrize(
    ("typed", "rule"),
    [
        ("", "Enter the amount"),
        ("1e3", "digits only"),
        ("NaN", "digits only"),
        ("-5", "positive"),
        ("0", "greater than zero"),
        ("١٢", "digits only"),
        ("1,00.00", "wrong place"),
        ("0.10", "smallest card payment"),
        ("172.51", "at most €172.50"),
        ("12.345", "at most 2 decimals"),
        ("9" * 40, "too long"),
        ("<script>alert(1)</script>", "digits only"),
    ],
)
async def test_payment_refused_amount_keeps_input(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, typed: str, rule: str
) -> None:
    issued = await factories.invoice(conn)
    key = secrets.token_urlsafe(18)
    response = await start(client, issued, typed, key)
    assert response.status_code == 422
    card = soup(response)
    assert rule in card.find(id="payment-amount-error").get_text()
    assert card.find(id="payment-amount")["value"] == typed[:64]  # what they typed, escaped, not lost
    assert card.find("input", attrs={"name": "attempt_key"})["value"] == key
    assert "<script>" not in response.text
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0
    assert (await stripe_api.get("/v1/payment_intents")).json()["data"] == []


async def test_payment_amount_in_the_readers_locale(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    german = {**HX, "Accept-Language": "de-DE"}
    data = {"amount": "1.234,50", "attempt_key": secrets.token_urlsafe(18)}
    refused = await client.post(f"{issued.url}/payments", data=data, headers=german)
    assert refused.status_code == 422 and "172,50" in refused.text  # more than due, said the German way
    data = {"amount": "100,50", "attempt_key": secrets.token_urlsafe(18)}
    accepted = await client.post(f"{issued.url}/payments", data=data, headers=german)
    assert accepted.status_code == 200
    assert await conn.fetchval("SELECT amount FROM payments") == 10050


async def test_payment_partial_then_poll_shows_it(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, settle: Any
) -> None:
    issued = await factories.invoice(conn)
    version = issued.invoice.version
    assert (await client.get(f"{issued.url}/summary?since={version}", headers=HX)).status_code == 204

    stepped = await start(client, issued, "50.00")
    assert stepped.status_code == 200
    card = soup(stepped).find(id="payment")
    assert card["data-step"] == "card" and card["data-stripe-key"] == "pk_test_portal"
    assert "Pay €50.00" in card.get_text()
    confirm_url, _ = step_urls(stepped)
    done = await confirm(client, confirm_url, await card_token(stripe_api))
    assert done.status_code == 200 and "went through" in done.text
    intent = await intent_of(conn, stripe_api, confirm_url)
    assert intent["status"] == "succeeded" and int(intent["amount"]) == 5000
    assert intent["metadata"]["invoice_id"] == str(issued.invoice.id)

    # Confirmed is not paid: the webhook decides.
    await settle()
    unchanged = soup(await client.get(issued.url))
    assert unchanged.find(class_="amount-due-value").get_text() == "€172.50"
    await deliver(client, "payment_intent.succeeded", intent)
    await settle()
    update = await client.get(f"{issued.url}/summary?since={version}", headers=HX)
    assert update.status_code == 200
    summary = soup(update)
    assert summary.find(class_="amount-due-value").get_text() == "€122.50"
    assert "Partially paid" in summary.find(class_="summary-status").get_text()
    row = summary.find("table", class_="payments").find("tbody").find("tr").get_text(" ", strip=True)
    assert "Visa" in row and "4242" in row and "€50.00" in row
    fresh_card = summary.find(id="payment")
    assert fresh_card["hx-swap-oob"] == "true" and fresh_card.find(id="payment-amount")["value"] == "122.50"


async def test_payment_double_submit_is_one_attempt(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    issued = await factories.invoice(conn)
    key = secrets.token_urlsafe(18)
    first, second = await asyncio.gather(start(client, issued, "20.00", key), start(client, issued, "20.00", key))
    assert first.status_code == second.status_code == 200
    assert step_urls(first) == step_urls(second)
    assert await conn.fetchval("SELECT count(*) FROM payments") == 1
    assert len((await stripe_api.get("/v1/payment_intents")).json()["data"]) == 1
    # Two confirmations of the same attempt at once charge it once.
    confirm_url, _ = step_urls(first)
    tokens = [await card_token(stripe_api), await card_token(stripe_api)]
    answers = await asyncio.gather(*(confirm(client, confirm_url, token) for token in tokens))
    assert all(answer.status_code == 200 for answer in answers)
    charges = (await stripe_api.get("/v1/charges")).json()["data"]
    assert [c["status"] for c in charges] == ["succeeded"]


async def test_payment_declined_card_can_retry(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    issued = await factories.invoice(conn)
    confirm_url, _ = step_urls(await start(client, issued, "30.00"))
    declined = await confirm(client, confirm_url, await card_token(stripe_api, DECLINED))
    assert declined.status_code == 200
    assert "Your card was declined." in soup(declined).find(id="payment-message").get_text()
    retry_url, _ = step_urls(declined)
    assert retry_url != confirm_url  # a fresh attempt for the same amount
    assert "Pay €30.00" in declined.text
    assert await conn.fetchval("SELECT status FROM payments WHERE attempt_key = $1", confirm_url.split("/")[-2]) == (
        "failed"
    )
    done = await confirm(client, retry_url, await card_token(stripe_api))
    assert done.status_code == 200 and "went through" in done.text


async def test_payment_three_d_secure(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    issued = await factories.invoice(conn)
    confirm_url, return_url = step_urls(await start(client, issued, "40.00"))
    action = await confirm(client, confirm_url, await card_token(stripe_api, THREE_D_SECURE))
    card = soup(action).find(id="payment")
    assert card["data-step"] == "action" and card["data-client-secret"].startswith("pi_")
    # The customer fails the bank's check (what Stripe.js does in the browser), then the page asks us.
    intent = await intent_of(conn, stripe_api, confirm_url)
    secret = card["data-client-secret"]
    failed = await stripe_api.post(
        f"/v1/payment_intents/{intent['id']}/_authenticate?success=false", json={"client_secret": secret}
    )
    assert failed.status_code == 200
    after = await client.post(return_url, headers=HX)
    assert "could not confirm that this payment is yours" in soup(after).find(id="payment-message").get_text()
    retry_url, retry_return = step_urls(after)
    action = await confirm(client, retry_url, await card_token(stripe_api, THREE_D_SECURE))
    secret = soup(action).find(id="payment")["data-client-secret"]
    intent = await intent_of(conn, stripe_api, retry_url)
    await stripe_api.post(
        f"/v1/payment_intents/{intent['id']}/_authenticate?success=true", json={"client_secret": secret}
    )
    done = await client.post(retry_return, headers=HX)
    assert done.status_code == 200 and "went through" in done.text


async def test_payment_stripe_down_then_retry(
    client: httpx.AsyncClient,
    client_stripe_down: httpx.AsyncClient,
    conn: asyncpg.Connection,
    stripe_api: httpx.AsyncClient,
) -> None:
    issued = await factories.invoice(conn)
    key = secrets.token_urlsafe(18)
    refused = await start(client_stripe_down, issued, "60.00", key)
    assert refused.status_code == 503 and "try again" in soup(refused).find(id="payment-amount-error").get_text()
    assert soup(refused).find(id="payment-amount")["value"] == "60.00"
    stepped = await start(client, issued, "60.00", key)  # the same form submitted again once Stripe is back
    confirm_url, _ = step_urls(stepped)

    down = await confirm(client_stripe_down, confirm_url, await card_token(stripe_api))
    assert down.status_code == 503 and "try again" in soup(down).find(id="payment-message").get_text()
    assert step_urls(down)[0] == confirm_url  # the same attempt: nothing lost, nothing doubled
    done = await confirm(client, confirm_url, await card_token(stripe_api))
    assert done.status_code == 200 and "went through" in done.text
    assert await conn.fetchval("SELECT count(*) FROM payments") == 1
    assert len((await stripe_api.get("/v1/payment_intents")).json()["data"]) == 1
    assert [c["status"] for c in (await stripe_api.get("/v1/charges")).json()["data"]] == ["succeeded"]


async def test_payment_two_tabs_full_balance_charge_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    """Both tabs have the card step for the full balance and confirm at the same moment."""
    issued = await factories.invoice(conn)
    first_url, _ = step_urls(await start(client, issued, "172.50"))
    second_url, _ = step_urls(await start(client, issued, "172.50"))
    tokens = [await card_token(stripe_api), await card_token(stripe_api)]
    answers = await asyncio.gather(confirm(client, first_url, tokens[0]), confirm(client, second_url, tokens[1]))
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    closed = next(answer for answer in answers if answer.status_code == 409)
    assert "Another payment for this invoice is being processed" in closed.text and "not charged" in closed.text
    intents = {url: await intent_of(conn, stripe_api, url) for url in (first_url, second_url)}
    assert sorted(i["status"] for i in intents.values()) == ["canceled", "succeeded"]
    charges = (await stripe_api.get("/v1/charges")).json()["data"]
    assert [(c["status"], int(c["amount"])) for c in charges] == [("succeeded", TOTAL)]


async def test_payment_second_tab_lowered_to_what_is_left(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, settle: Any
) -> None:
    issued = await factories.invoice(conn)
    partial_url, _ = step_urls(await start(client, issued, "100.00"))
    full_url, _ = step_urls(await start(client, issued, "172.50"))
    assert "went through" in (await confirm(client, partial_url, await card_token(stripe_api))).text
    lowered = await confirm(client, full_url, await card_token(stripe_api))
    assert lowered.status_code == 409
    card = soup(lowered).find(id="payment")
    assert "€72.50 is due now" in card.find(id="payment-message").get_text() and "Pay €72.50" in card.get_text()
    assert (await intent_of(conn, stripe_api, full_url))["status"] == "requires_payment_method"  # never confirmed
    done = await confirm(client, full_url, await card_token(stripe_api))
    assert done.status_code == 200 and "€72.50" in done.text
    charged = sorted(int(c["amount"]) for c in (await stripe_api.get("/v1/charges")).json()["data"])
    assert charged == [7250, 10000]
    for url in (partial_url, full_url):
        await deliver(client, "payment_intent.succeeded", await intent_of(conn, stripe_api, url))
    await settle()
    summary = soup(await client.get(f"{issued.url}/summary", headers=HX))
    assert summary.find(class_="amount-due-value").get_text() == "€0.00"
    assert "Paid in full" in summary.get_text()


async def test_payment_after_invoice_paid_is_cancelled(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, settle: Any
) -> None:
    issued = await factories.invoice(conn)
    confirm_url, _ = step_urls(await start(client, issued, "172.50"))
    await insert_settled_payment(conn, invoice_id=issued.invoice.id, amount=TOTAL, currency="EUR", method="other")
    await settle()
    closed = await confirm(client, confirm_url, await card_token(stripe_api))
    assert closed.status_code == 409 and "just been paid in full" in closed.text
    assert (await intent_of(conn, stripe_api, confirm_url))["status"] == "canceled"
    assert (await stripe_api.get("/v1/charges")).json()["data"] == []


async def test_payment_after_a_transfer_left_too_little_for_a_card_says_so(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, settle: Any
) -> None:
    """Nobody else is paying: the message must not blame "another payment being processed"."""
    issued = await factories.invoice(conn)
    confirm_url, _ = step_urls(await start(client, issued, "172.50"))
    await insert_settled_payment(conn, invoice_id=issued.invoice.id, amount=TOTAL - 30, currency="EUR", method="other")
    await settle()
    closed = await confirm(client, confirm_url, await card_token(stripe_api))
    text = soup(closed).get_text(" ", strip=True)
    assert closed.status_code == 409 and "Another payment" not in text
    assert "Only €0.30 is due now, below the smallest card payment (€0.50)" in text and "bank transfer" in text
    assert (await intent_of(conn, stripe_api, confirm_url))["status"] == "canceled"


async def test_payment_on_a_voided_invoice_is_cancelled(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient, settle: Any
) -> None:
    issued = await factories.invoice(conn)
    confirm_url, _ = step_urls(await start(client, issued, "50.00"))
    await void_invoice(conn, issued.invoice.id, "issued twice")
    await settle()
    closed = await confirm(client, confirm_url, await card_token(stripe_api))
    assert closed.status_code == 409 and "voided and cannot be paid" in closed.text
    assert (await intent_of(conn, stripe_api, confirm_url))["status"] == "canceled"


async def test_payment_endpoints_refuse_nonsense(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    huge = await client.post(f"{issued.url}/payments", data={"amount": "1" * 10_000}, headers=HX)
    assert huge.status_code == 413
    unknown = await client.post(f"{issued.url}/payments/{'x' * 24}/confirm", data={"card_token": "tok_x"}, headers=HX)
    assert unknown.status_code == 404
    stepped = await start(client, issued, "10.00")
    confirm_url, _ = step_urls(stepped)
    bad_token = await confirm(client, confirm_url, "<script>")
    assert bad_token.status_code == 200 and "Enter your card details" in bad_token.text
    held = await conn.fetchval(
        "SELECT attempt_held_until FROM payments WHERE attempt_key = $1", confirm_url.split("/")[-2]
    )
    assert held is None  # a form without a usable card holds nothing against other tabs
    other = await factories.invoice(conn, ws=issued.workspace)  # another invoice's link cannot use this attempt
    foreign = await client.post(
        confirm_url.replace(issued.token, other.token), data={"card_token": "tok_x"}, headers=HX
    )
    assert foreign.status_code == 404
    no_js = await client.post(f"{issued.url}/payments", data={"amount": "10.00"})
    assert no_js.status_code == 422 and "needs JavaScript" in no_js.text and "<html" in no_js.text


async def test_payment_csp_allows_stripe_js_only(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settings: Settings
) -> None:
    issued = await factories.invoice(conn)
    csp = (await client.get(issued.url)).headers["content-security-policy"]
    origin = settings.stripe_js_url.split("/js.stripe.com")[0]
    assert f"script-src 'self' {origin};" in csp and f"connect-src 'self' {origin};" in csp
    assert "unsafe" not in csp


async def test_payment_forgotten_hold_lapses(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    """A tab that started confirming and was closed holds its amount only for a while (3-D Secure's time)."""
    issued = await factories.invoice(conn)
    first_url, _ = step_urls(await start(client, issued, "172.50"))
    second_url, _ = step_urls(await start(client, issued, "172.50"))
    action = await confirm(client, first_url, await card_token(stripe_api, THREE_D_SECURE))
    assert soup(action).find(id="payment")["data-step"] == "action"  # and then the customer walked away
    blocked = await confirm(client, second_url, await card_token(stripe_api))
    assert blocked.status_code == 409 and "being processed" in blocked.text

    third_url, _ = step_urls(await start(client, issued, "172.50"))
    await conn.execute("UPDATE payments SET attempt_held_until = now() - interval '1 second' WHERE amount = $1", TOTAL)
    done = await confirm(client, third_url, await card_token(stripe_api))
    assert done.status_code == 200 and "went through" in done.text


async def test_declined_cards_cannot_get_around_the_attempt_limit(
    client: httpx.AsyncClient, conn: asyncpg.Connection, stripe_api: httpx.AsyncClient
) -> None:
    """Each decline opens a fresh attempt for a retry: that one counts against the limit too (card testing)."""
    issued = await factories.invoice(conn)
    confirm_url, _ = step_urls(await start(client, issued, "30.00"))
    for _ in range(MAX_ATTEMPTS_PER_INVOICE - 1):  # other readers' attempts this hour, one short of the limit
        await insert_card_attempt(
            conn, invoice_id=issued.invoice.id, amount=100, currency="EUR", attempt_key=secrets.token_urlsafe(18),
            client="192.0.2.50", now=datetime.now(UTC), stripe_account_id=None,
        )  # fmt: skip
    declined = await confirm(client, confirm_url, await card_token(stripe_api, DECLINED))
    assert declined.status_code == 409  # the attempt is closed: no fresh one to retry with
    message = soup(declined).find(id="payment-result-detail").get_text()
    assert "Your card was declined." in message and "too many card payment attempts" in message
    assert await conn.fetchval("SELECT count(*) FROM payments") == MAX_ATTEMPTS_PER_INVOICE
