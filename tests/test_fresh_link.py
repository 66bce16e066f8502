"""E-mail me a fresh link (issue 17): the Invoice Not Found page offers it; a new link is mailed only when the address
is the customer's and the link had merely expired; every other case gets the same answer, status and body; the
limits hold under concurrent requests; the console's activity log shows it. Real database and SMTP."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from bs4 import BeautifulSoup

from db.links import revoke_link
from tests import factories
from tests.conftest import asgi_client
from tests.mailbox import Mailbox
from web.portal.fresh_link import MAX_PER_LINK

CUSTOMER = "ap@customer.example"


def ask(client: httpx.AsyncClient, token: str, email: str = CUSTOMER) -> asyncio.Future[httpx.Response]:
    return asyncio.ensure_future(client.post(f"/i/{token}/fresh-link", data={"email": email}))


async def expired(conn: asyncpg.Connection, slug: str = "acme", **kwargs: object) -> factories.Issued:
    """An invoice whose only link expired yesterday (a week after it was made)."""
    ws = await factories.workspace(conn, slug=slug)
    issued = await factories.invoice(conn, ws=ws, expires_at=datetime.now(UTC) - timedelta(days=1), **kwargs)  # type: ignore[arg-type]
    await conn.execute("UPDATE portal_links SET created_at = now() - interval '8 days' WHERE token = $1", issued.token)
    return issued


async def test_an_expired_link_gets_a_fresh_one_mailed_to_the_customer(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await expired(conn)
    page = await client.get(issued.url)
    assert page.status_code == 404
    form = BeautifulSoup(page.text, "html.parser").find("form", action=f"/i/{issued.token}/fresh-link")
    assert form is not None and form.find("input", attrs={"name": "email"}) is not None

    answer = await ask(client, issued.token, "  AP@Customer.Example ")
    assert answer.status_code == 200 and "we have e-mailed a new link" in answer.text
    subject, body = await mailbox.text_of(CUSTOMER)
    fresh = re.search(r"http://[^\s]+/i/([A-Za-z0-9_-]+)", body)
    assert fresh is not None and fresh.group(1) != issued.token and issued.invoice.number in subject
    assert (await client.get(f"/i/{fresh.group(1)}")).status_code == 200
    assert (await client.get(issued.url)).status_code == 404  # the old one stays expired
    lifetime = await conn.fetchval("SELECT expires_at - now() FROM portal_links WHERE token = $1", fresh.group(1))
    assert timedelta(days=6) < lifetime <= timedelta(days=7)  # as long as the old one was meant to live
    activity = await conn.fetchrow(
        "SELECT kind, detail FROM activity WHERE invoice_id = $1 AND kind = 'fresh_link_sent'", issued.invoice.id
    )
    assert activity is not None and activity["detail"]["to"] == CUSTOMER


async def test_every_other_case_gets_the_same_answer_and_nothing_is_sent(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    granted = await expired(conn, slug="granted")
    reference = await ask(client, granted.token)
    revoked = await expired(conn, slug="revoked")
    link_id = await conn.fetchval("SELECT id FROM portal_links WHERE token = $1", revoked.token)
    await revoke_link(conn, link_id)
    live = await factories.invoice(conn, ws=await factories.workspace(conn, slug="live"))
    other = await expired(conn, slug="other")
    cases = [
        ask(client, "t" * 32),  # never a link
        ask(client, revoked.token),  # revoked by the billing team: never revived
        ask(client, live.token),  # still live
        ask(client, other.token, "someone@else.example"),  # not the customer's address
    ]
    for answer in await asyncio.gather(*cases):
        assert (answer.status_code, answer.text) == (reference.status_code, reference.text)
        assert answer.headers["content-security-policy"] == reference.headers["content-security-policy"]
    await mailbox.wait_for(CUSTOMER, 1)
    await asyncio.sleep(0.3)
    assert len(mailbox.to(CUSTOMER)) == 1 and not mailbox.to("someone@else.example")
    for issued in (revoked, live, other):
        assert await conn.fetchval("SELECT count(*) FROM portal_links WHERE invoice_id = $1", issued.invoice.id) == 1
    assert await conn.fetchval("SELECT count(*) FROM fresh_link_requests") == 5  # each one counted


async def test_a_bad_address_is_refused_in_the_form_with_the_input_kept(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    issued = await expired(conn)
    answer = await ask(client, issued.token, "not-an-address")
    assert answer.status_code == 422
    soup = BeautifulSoup(answer.text, "html.parser")
    field = soup.find("input", attrs={"name": "email"})
    assert field is not None and field["value"] == "not-an-address" and field["aria-invalid"] == "true"
    assert "does not look like an e-mail address" in soup.get_text()
    assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'self'" in answer.headers["content-security-policy"]
    assert await conn.fetchval("SELECT count(*) FROM fresh_link_requests") == 0


async def test_the_limits_hold_under_concurrent_requests(
    app_manager: object, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await expired(conn)
    clients = [asgi_client(app_manager) for _ in range(8)]  # type: ignore[arg-type]
    try:
        answers = await asyncio.gather(*(ask(each, issued.token) for each in clients))
    finally:
        for each in clients:
            await each.aclose()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * MAX_PER_LINK + [422] * (8 - MAX_PER_LINK)
    refused = next(answer for answer in answers if answer.status_code == 422)
    assert "Too many new links" in refused.text
    assert await conn.fetchval("SELECT count(*) FROM fresh_link_requests") == MAX_PER_LINK
    await mailbox.wait_for(CUSTOMER, MAX_PER_LINK)
