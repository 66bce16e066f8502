"""Every limit holds when its requests arrive at the same moment: N simultaneous requests, exactly the limit
gets through. The app runs with a pool wide enough that the requests really are in flight together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pyotp
import pytest
from asgi_lifespan import LifespanManager
from bs4 import BeautifulSoup

from db.invoices import set_comment_settings
from tests import factories
from tests.conftest import AppVariant, asgi_client
from tests.mailbox import Mailbox
from tests.threads import HX, ask_code, form_error, grant_access, post_comment
from web.comments.access import (
    MAX_REQUESTS_PER_CLIENT,
    MAX_REQUESTS_PER_EMAIL,
    MAX_REQUESTS_PER_INVOICE,
    MAX_TOTP_FAILURES,
)
from web.comments.posting import MAX_POSTS_PER_MINUTE
from web.console.auth import CLIENT_LIMIT
from web.payments.checkout import MAX_ATTEMPTS_PER_CLIENT, MAX_ATTEMPTS_PER_INVOICE

SIMULTANEOUS = 24


@pytest.fixture
async def wide_app(app_variant: AppVariant) -> AsyncIterator[LifespanManager]:
    async with app_variant(db_pool_min=SIMULTANEOUS, db_pool_max=SIMULTANEOUS) as manager:
        yield manager


async def _requests_recorded(conn: asyncpg.Connection, column: str, value: str) -> int:
    count: int = await conn.fetchval(f"SELECT count(*) FROM comment_code_requests WHERE {column} = $1", value)
    return count


async def test_code_requests_from_one_client_across_invoices_stop_at_the_client_limit(
    wide_app: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    ws = await factories.workspace(conn)
    invoices = [await factories.invoice(conn, ws=ws) for _ in range(SIMULTANEOUS)]
    async with asgi_client(wide_app, "203.0.113.7") as client:
        answers = await asyncio.gather(
            *(ask_code(client, issued, email=f"reader{n}@example.com") for n, issued in enumerate(invoices))
        )
    assert sorted({a.status_code for a in answers}) == [200, 422]
    assert await _requests_recorded(conn, "client", "203.0.113.7") == MAX_REQUESTS_PER_CLIENT
    assert sum("Too many codes" in form_error(a.text) for a in answers) == SIMULTANEOUS - MAX_REQUESTS_PER_CLIENT


async def test_code_requests_for_one_address_across_invoices_stop_at_the_address_limit(
    wide_app: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    ws = await factories.workspace(conn)
    invoices = [await factories.invoice(conn, ws=ws) for _ in range(SIMULTANEOUS)]

    async def from_own_client(n: int) -> httpx.Response:
        async with asgi_client(wide_app, f"198.51.100.{n + 1}") as client:
            return await ask_code(client, invoices[n], email="target@example.com")

    await asyncio.gather(*(from_own_client(n) for n in range(SIMULTANEOUS)))
    assert await _requests_recorded(conn, "email", "target@example.com") == MAX_REQUESTS_PER_EMAIL


async def test_code_requests_for_one_invoice_stop_at_the_invoice_limit(
    wide_app: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    total = MAX_REQUESTS_PER_INVOICE + 8

    async def reader(n: int) -> httpx.Response:
        async with asgi_client(wide_app, f"192.0.2.{n + 1}") as client:
            return await ask_code(client, issued, email=f"reader{n}@example.com")

    await asyncio.gather(*(reader(n) for n in range(total)))
    recorded = await conn.fetchval(
        "SELECT count(*) FROM comment_code_requests WHERE invoice_id = $1", issued.invoice.id
    )
    assert recorded == MAX_REQUESTS_PER_INVOICE


async def test_simultaneous_posts_stop_at_the_post_rate_limit(
    wide_app: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    async with asgi_client(wide_app, "203.0.113.9") as client:
        await grant_access(client, issued, mailbox)
        answers = await asyncio.gather(*(post_comment(client, issued, f"post {n}") for n in range(SIMULTANEOUS)))
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE invoice_id = $1", issued.invoice.id) == (
        MAX_POSTS_PER_MINUTE
    )
    refused = [a for a in answers if a.status_code != 200]
    assert len(refused) == SIMULTANEOUS - MAX_POSTS_PER_MINUTE
    assert all("faster than we accept" in form_error(a.text) for a in refused)


async def test_a_resubmitted_post_over_the_rate_limit_still_finds_its_comment(
    wide_app: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    async with asgi_client(wide_app, "203.0.113.10") as client:
        await grant_access(client, issued, mailbox)
        keys = [f"resubmit-key-{n:04d}-xxxxxx" for n in range(MAX_POSTS_PER_MINUTE)]
        for n, key in enumerate(keys):
            assert (await post_comment(client, issued, f"post {n}", key=key)).status_code == 200
        again = await post_comment(client, issued, "post 0", key=keys[0])  # the network lost the first answer
    assert again.status_code == 200
    assert await conn.fetchval("SELECT count(*) FROM comments") == MAX_POSTS_PER_MINUTE


async def test_simultaneous_wrong_totp_codes_get_exactly_the_allowed_tries(
    wide_app: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    await set_comment_settings(conn, issued.invoice.id, mode="customer", require_totp=True)
    async with asgi_client(wide_app, "203.0.113.11") as client:
        verified = await grant_access(client, issued, mailbox)
        secret = BeautifulSoup(verified.text, "html.parser").select_one(".totp-secret code").get_text()
        right = pyotp.TOTP(secret.replace(" ", "")).at(datetime.now(UTC))
        wrong = "000000" if right != "000000" else "111111"
        answers = await asyncio.gather(
            *(client.post(f"{issued.url}/comments/totp", data={"code": wrong}, headers=HX) for _ in range(SIMULTANEOUS))
        )
    judged = [a for a in answers if form_error(a.text).startswith("That code is not right")]
    assert len(judged) == MAX_TOTP_FAILURES - 1  # the last allowed try ends the session instead
    failures = await conn.fetchval("SELECT max(totp_failures) FROM comment_sessions")
    assert failures == MAX_TOTP_FAILURES


async def test_password_guesses_from_one_client_across_addresses_stop_at_the_client_limit(
    wide_app: LifespanManager, conn: asyncpg.Connection
) -> None:
    client_address = "203.0.113.12"
    now = datetime.now(UTC)
    # The earlier part of a spraying run, as the sign-in step itself records it: two guesses short of the limit.
    await conn.executemany(
        "INSERT INTO staff_sign_in_failures (email, client, failed_at) VALUES ($1, $2, $3)",
        [(f"earlier{n}@example.com", client_address, now) for n in range(CLIENT_LIMIT - 2)],
    )
    async with asgi_client(wide_app, client_address) as client:
        page = await client.get("/console/sign-in")
        assert page.status_code == 200
        answers = await asyncio.gather(
            *(
                client.post("/console/sign-in", data={"email": f"sprayed{n}@example.com", "password": "guess-guess"})
                for n in range(10)
            )
        )
    recorded = await conn.fetchval("SELECT count(*) FROM staff_sign_in_failures WHERE client = $1", client_address)
    assert recorded == CLIENT_LIMIT
    assert sum(a.status_code == 429 for a in answers) == 8


async def _start_attempt(client: httpx.AsyncClient, issued: factories.Issued, key: str) -> httpx.Response:
    return await client.post(f"{issued.url}/payments", data={"amount": "1.00", "attempt_key": key}, headers=HX)


async def test_simultaneous_card_attempts_on_one_invoice_stop_at_the_invoice_limit(
    wide_app: LifespanManager, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn)
    total = MAX_ATTEMPTS_PER_INVOICE + 6

    async def reader(n: int) -> httpx.Response:
        async with asgi_client(wide_app, f"192.0.2.{n + 1}") as client:
            return await _start_attempt(client, issued, f"attempt-invoice-{n:04d}")

    answers = await asyncio.gather(*(reader(n) for n in range(total)))
    assert await conn.fetchval("SELECT count(*) FROM payments") == MAX_ATTEMPTS_PER_INVOICE
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == total - MAX_ATTEMPTS_PER_INVOICE
    assert all("too many card payment attempts" in a.text for a in refused)
    # The amount typed is kept in the refused form.
    assert BeautifulSoup(refused[0].text, "html.parser").select_one("#payment-amount")["value"] == "1.00"


async def test_card_attempts_from_one_client_across_invoices_stop_at_the_client_limit(
    wide_app: LifespanManager, conn: asyncpg.Connection
) -> None:
    ws = await factories.workspace(conn)
    invoices = [await factories.invoice(conn, ws=ws) for _ in range(MAX_ATTEMPTS_PER_CLIENT // 2 + 3)]
    async with asgi_client(wide_app, "203.0.113.20") as client:
        await asyncio.gather(
            *(
                _start_attempt(client, issued, f"attempt-client-{n:04d}-{round}")
                for n, issued in enumerate(invoices)
                for round in range(2)
            )
        )
        # Resubmitting an attempt already made is never refused: it finds its PaymentIntent again.
        made = await conn.fetchrow("SELECT invoice_id, attempt_key FROM payments ORDER BY id LIMIT 1")
        on = next(issued for issued in invoices if issued.invoice.id == made["invoice_id"])
        again = await _start_attempt(client, on, made["attempt_key"])
    assert again.status_code == 200
    assert await conn.fetchval("SELECT count(*) FROM payments") == MAX_ATTEMPTS_PER_CLIENT


async def test_a_double_click_on_the_last_allowed_attempt_is_one_attempt_not_a_refusal(
    wide_app: LifespanManager, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn)
    async with asgi_client(wide_app, "203.0.113.30") as client:
        for n in range(MAX_ATTEMPTS_PER_INVOICE - 1):
            assert (await _start_attempt(client, issued, f"attempt-earlier-{n:04d}")).status_code == 200
        both = await asyncio.gather(*(_start_attempt(client, issued, "attempt-double-click") for _ in range(2)))
    assert [a.status_code for a in both] == [200, 200]
    assert await conn.fetchval("SELECT count(*) FROM payments") == MAX_ATTEMPTS_PER_INVOICE
