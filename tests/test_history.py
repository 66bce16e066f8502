"""A customer's billing history (issue 17): signing in from an invoice's page with an e-mailed code (identical
answers for unknown addresses, limits under concurrency), exactly that address's invoices in that workspace,
filters, pages, what is due now per currency, each invoice's page and PDF from the list, and Sign out. Real
database and SMTP."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from bs4 import BeautifulSoup

from db.payments import insert_settled_payment
from tests import factories
from tests.conftest import asgi_client
from tests.console import account as staff_account
from tests.console import sign_in as console_sign_in
from tests.mailbox import Mailbox
from tests.test_stripe_invoice_import import connected, sdk
from tests.test_stripe_workspaces import Team
from tests.test_stripe_workspaces import teams as teams  # the fixture
from web.history.access import MAX_REQUESTS_PER_EMAIL

CUSTOMER = "ap@customer.example"


async def sign_in(client: httpx.AsyncClient, issued: factories.Issued, mailbox: Mailbox, nth: int = 1) -> str:
    """Through the invoice page's link; the history's path."""
    page = await client.get(issued.url)
    link = BeautifulSoup(page.text, "html.parser").find("a", string="All your invoices")
    assert link is not None
    form = await client.get(str(link["href"]))
    assert form.status_code == 200 and "Send me a code" in form.text
    asked = await client.post(f"{issued.url}/history/code", data={"email": CUSTOMER.upper()})
    assert asked.status_code == 200 and "we have e-mailed a 6-digit code" in asked.text
    code = await mailbox.code_for(CUSTOMER, nth)
    verified = await client.post(f"{issued.url}/history/verify", data={"email": CUSTOMER, "code": code})
    assert verified.status_code == 303, verified.text
    return verified.headers["location"]


def numbers(response: httpx.Response) -> list[str]:
    soup = BeautifulSoup(response.text, "html.parser")
    return [str(item["data-invoice-number"]) for item in soup.select("[data-invoice-number]")]


async def test_the_history_lists_exactly_that_addresss_invoices_in_that_workspace(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    ws = await factories.workspace(conn, slug="acme")
    first = await factories.invoice(conn, ws=ws)
    second = await factories.invoice(conn, ws=ws, currency="USD")  # another customer record, same address
    elsewhere = await factories.invoice(conn, ws=await factories.workspace(conn, slug="other"))  # same address
    stranger = await factories.invoice(conn, ws=ws)
    await conn.execute("UPDATE customers SET email = 'x@stranger.example' WHERE id = $1", stranger.invoice.customer_id)
    draft = await factories.invoice(conn, ws=ws, issue=False)

    history = await sign_in(client, first, mailbox)
    assert history == "/billing/acme"
    # Signed in, All your invoices on any invoice page goes straight to the history.
    shortcut = await client.get(f"{second.url}/history")
    assert shortcut.status_code == 303 and shortcut.headers["location"] == history
    listed = await client.get(history)
    assert listed.status_code == 200
    assert sorted(numbers(listed)) == sorted([first.invoice.number, second.invoice.number])
    assert elsewhere.invoice.id != first.invoice.id and draft.invoice.number is None
    soup = BeautifulSoup(listed.text, "html.parser")
    due = {str(li["data-due-currency"]): li.get_text(strip=True) for li in soup.select("[data-due-currency]")}
    assert due == {"EUR": "€172.50", "USD": "$172.50"}
    # An invoice issued before totals were stored is summed from its lines: the same figure.
    await conn.execute("UPDATE invoices SET issued_total = NULL WHERE id = $1", second.invoice.id)
    relisted = BeautifulSoup((await client.get(history)).text, "html.parser")
    assert {
        str(li["data-due-currency"]): li.get_text(strip=True) for li in relisted.select("[data-due-currency]")
    } == due

    # Each invoice one click away (its live link), and its PDF.
    opened = await client.get(f"{history}/invoices/{second.invoice.id}")
    assert opened.status_code == 303 and opened.headers["location"] == second.url
    pdf = await client.get(f"{history}/invoices/{first.invoice.id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    for foreign in (stranger.invoice.id, elsewhere.invoice.id, draft.invoice.id):
        assert (await client.get(f"{history}/invoices/{foreign}")).status_code == 404
        assert (await client.get(f"{history}/invoices/{foreign}/pdf")).status_code == 404
    # The other workspace's history is not opened by this workspace's session.
    assert (await client.get("/billing/other")).status_code == 401

    signed_out = await client.post(f"{history}/sign-out")
    assert signed_out.status_code == 303
    after = await client.get(history)
    assert after.status_code == 401 and numbers(after) == [] and "not signed in" in after.text


async def test_an_invoice_whose_link_expired_opens_through_a_new_link(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    ws = await factories.workspace(conn, slug="acme")
    current = await factories.invoice(conn, ws=ws)
    old = await factories.invoice(conn, ws=ws)
    await conn.execute("UPDATE portal_links SET expires_at = now() - interval '1 day' WHERE token = $1", old.token)
    history = await sign_in(client, current, mailbox)
    opened = await client.get(f"{history}/invoices/{old.invoice.id}")
    assert opened.status_code == 303 and opened.headers["location"] != old.url
    assert (await client.get(opened.headers["location"])).status_code == 200


async def test_filters_search_and_pages(client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox) -> None:
    ws = await factories.workspace(conn, slug="acme")
    issued = [await factories.invoice(conn, ws=ws) for _ in range(30)]
    paid = issued[3].invoice
    await insert_settled_payment(conn, invoice_id=paid.id, amount=16450, currency="EUR", method="bank_transfer")
    await conn.execute("UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = $1", paid.id)
    late = issued[0].invoice  # the oldest: issued 40 days ago, due 10 days ago
    await conn.execute(
        "UPDATE invoices SET issue_date = $2, due_date = $3 WHERE id = $1",
        late.id, date.today() - timedelta(days=40), date.today() - timedelta(days=10),
    )  # fmt: skip
    history = await sign_in(client, issued[0], mailbox)

    first = await client.get(history)
    assert len(numbers(first)) == 25 and numbers(first)[0] == issued[-1].invoice.number  # newest first
    older = BeautifulSoup(first.text, "html.parser").find("a", string="Older invoices")
    assert older is not None
    second = await client.get(str(older["href"]))
    assert len(numbers(second)) == 5 and numbers(second)[-1] == issued[0].invoice.number
    assert BeautifulSoup(second.text, "html.parser").find("a", string="Older invoices") is None
    assert not set(numbers(first)) & set(numbers(second))

    assert numbers(await client.get(history, params={"status": "paid"})) == [paid.number]
    assert numbers(await client.get(history, params={"status": "overdue"})) == [late.number]
    assert numbers(await client.get(history, params={"q": late.number.lower()})) == [late.number]
    # Nonsense in the query is not applied, never a 500.
    for params in ({"status": "<script>"}, {"before": "not-a-cursor"}, {"before": "2026-13-45.1"}, {"q": "x" * 500}):
        answer = await client.get(history, params=params)
        assert answer.status_code == 200


async def test_codes_answer_alike_for_unknown_addresses_and_wrong_codes_are_counted(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    known = await client.post(f"{issued.url}/history/code", data={"email": CUSTOMER})
    unknown = await client.post(f"{issued.url}/history/code", data={"email": "nobody@else.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(CUSTOMER, "@") == unknown.text.replace("nobody@else.example", "@")
    await mailbox.wait_for(CUSTOMER)
    assert not mailbox.to("nobody@else.example")
    wrong = await client.post(f"{issued.url}/history/verify", data={"email": "nobody@else.example", "code": "123456"})
    assert wrong.status_code == 422 and "4 tries left" in wrong.text
    bad = await client.post(f"{issued.url}/history/code", data={"email": "not-an-address"})
    soup = BeautifulSoup(bad.text, "html.parser")
    assert bad.status_code == 422 and soup.find("input", attrs={"name": "email"})["value"] == "not-an-address"  # type: ignore[index]


async def test_code_limits_hold_under_concurrent_requests(
    app_manager: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await factories.invoice(conn)
    clients = [asgi_client(app_manager) for _ in range(8)]
    try:
        answers = await asyncio.gather(
            *(each.post(f"{issued.url}/history/code", data={"email": CUSTOMER}) for each in clients)
        )
    finally:
        for each in clients:
            await each.aclose()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * MAX_REQUESTS_PER_EMAIL + [422] * (8 - MAX_REQUESTS_PER_EMAIL)
    assert await conn.fetchval("SELECT count(*) FROM history_code_requests") == MAX_REQUESTS_PER_EMAIL


async def test_stripes_customer_portal_opens_for_a_customer_with_a_stripe_id_when_offered(
    teams: tuple[Team, Team], client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox, stripe_base: str
) -> None:
    north, _ = teams
    await connected(north, conn)
    stripe_customer = await asyncio.to_thread(
        sdk(stripe_base, north).v1.customers.create, {"name": "Customer SARL", "email": CUSTOMER}
    )
    issued = await factories.invoice(conn, ws=north.ws)
    await conn.execute(
        "UPDATE customers SET stripe_customer_id = $2 WHERE id = $1", issued.invoice.customer_id, stripe_customer.id
    )
    history = await sign_in(client, issued, mailbox)
    assert "Manage cards and subscriptions" not in (await client.get(history)).text  # not offered yet
    assert (await client.post(f"{history}/manage")).status_code == 404

    offered = await north.console.post(
        "/console/settings/stripe/customer-portal", data={"csrf": north.csrf, "customer_portal": "on"}
    )
    assert offered.status_code == 303 and offered.headers["location"].endswith("saved=stripe-portal-on")
    assert "Manage cards and subscriptions" in (await client.get(history)).text
    opened = await client.post(f"{history}/manage")
    assert opened.status_code == 303 and opened.headers["location"].startswith(stripe_base)
    async with httpx.AsyncClient() as browser:
        portal = await browser.get(opened.headers["location"])
    assert portal.status_code == 200 and CUSTOMER in portal.text
    assert f'{history}">' in portal.text  # the way back to the history (on the portal's public origin)


async def test_billing_can_sign_a_customer_out_of_the_history_everywhere(
    client: httpx.AsyncClient, app_manager: LifespanManager, conn: asyncpg.Connection, mailbox: Mailbox, clock: Any
) -> None:
    issued = await factories.invoice(conn)
    history = await sign_in(client, issued, mailbox)
    staff = await staff_account(conn, issued.workspace)
    console = asgi_client(app_manager)
    try:
        csrf = await console_sign_in(console, conn, clock, staff.email)
        customer_page = f"/console/customers/{issued.invoice.customer_id}"
        shown = BeautifulSoup((await console.get(customer_page)).text, "html.parser")
        assert shown.find(attrs={"data-history-sessions": "1"}) is not None
        ended = await console.post(f"{customer_page}/history-sessions/end", data={"csrf": csrf})
        assert ended.status_code == 303
    finally:
        await console.aclose()
    assert (await client.get(history)).status_code == 401
