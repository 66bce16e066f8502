"""What billing does after sending: void, uncollectible, manual payments, resend, links and portal switches;
and 20 sends at once getting 20 distinct, gapless numbers."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
import httpx

from db.activity import select_activity
from tests import factories
from tests.conftest import MovableClock
from tests.console import account, errors_of, sign_in
from tests.mailbox import Mailbox
from tests.queries import select_invoice
from tests.test_console_builder import HX, THREE, billing, draft_data, new_customer, new_draft


async def signed_in_with_invoice(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> tuple[str, factories.Issued]:
    issued = await factories.invoice(conn)  # 100.00 at 19 % + 2 × 25.00 at 7 % = 172.50
    staff = await account(conn, issued.workspace)
    return await sign_in(client, conn, clock, staff.email), issued


async def test_void_needs_a_reason_then_the_portal_shows_void_without_payment(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, settle: object
) -> None:
    csrf, issued = await signed_in_with_invoice(client, conn, clock)
    url = f"/console/invoices/{issued.invoice.id}"
    empty = await client.post(f"{url}/void", data={"csrf": csrf, "reason": "   "})
    assert empty.status_code == 422 and "Enter the reason for voiding." in errors_of(empty.text)
    assert (await select_invoice(conn, issued.invoice.id)).status == "open"  # type: ignore[union-attr]
    done = await client.post(f"{url}/void", data={"csrf": csrf, "reason": "Billed twice <oops>"})
    assert done.status_code == 303
    await settle()  # type: ignore[operator]
    page = await client.get(issued.url)
    assert "void" in page.text.lower() and "Billed twice &lt;oops&gt;" in page.text and 'name="amount"' not in page.text
    again = await client.post(f"{url}/void", data={"csrf": csrf, "reason": "again"})
    assert again.headers["location"].endswith("done=unchanged")
    kinds = [a.kind for a in await select_activity(conn, issued.invoice.id)]
    assert kinds.count("voided") == 1


async def test_manual_payments_validate_like_online_ones_and_settle_the_invoice(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    csrf, issued = await signed_in_with_invoice(client, conn, clock)
    url = f"/console/invoices/{issued.invoice.id}/payments"
    for amount in ("", "-5", "1e3", "NaN", "١٢", "0", "172.51", "12.345", "9" * 40):
        refused = await client.post(url, data={"csrf": csrf, "amount": amount, "method": "bank_transfer"})
        assert refused.status_code == 422, amount
        assert f'value="{amount}"' in refused.text
    bad_method = await client.post(url, data={"csrf": csrf, "amount": "10", "method": "cash-in-envelope"})
    assert bad_method.status_code == 422
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0
    part = await client.post(
        url, data={"csrf": csrf, "amount": "72.50", "method": "bank_transfer", "reference": "TX-1"}
    )
    assert part.status_code == 303
    rest = await client.post(url, data={"csrf": csrf, "amount": "100", "method": "other"})
    assert rest.status_code == 303
    invoice = await select_invoice(conn, issued.invoice.id)
    assert invoice is not None and invoice.status == "paid"
    kinds = [a.kind for a in await select_activity(conn, issued.invoice.id)]
    assert kinds.count("payment_succeeded") == 2
    recorded = [a for a in await select_activity(conn, issued.invoice.id) if a.kind == "payment_succeeded"]
    assert {a.detail.get("by") for a in recorded} == {"billing@acme.example"}
    page = await client.get(f"/console/invoices/{issued.invoice.id}")
    assert "TX-1" in page.text and "Payment succeeded" in page.text


async def test_uncollectible_and_resend(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, mailbox: Mailbox
) -> None:
    csrf, issued = await signed_in_with_invoice(client, conn, clock)
    url = f"/console/invoices/{issued.invoice.id}"
    assert (await client.post(f"{url}/uncollectible", data={"csrf": csrf})).status_code == 303
    assert (await select_invoice(conn, issued.invoice.id)).status == "uncollectible"  # type: ignore[union-attr]
    assert (await client.post(f"{url}/resend", data={"csrf": csrf})).status_code == 303
    _subject, body = await mailbox.text_of("ap@customer.example")
    assert issued.token in body


async def test_links_expire_revoke_and_replace(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, settle: object
) -> None:
    csrf, issued = await signed_in_with_invoice(client, conn, clock)
    url = f"/console/invoices/{issued.invoice.id}"
    link_id = await conn.fetchval("SELECT id FROM portal_links WHERE token = $1", issued.token)
    past = await client.post(f"{url}/links/{link_id}/expiry", data={"csrf": csrf, "expires_on": "2001-01-01"})
    assert past.status_code == 422 and 'value="2001-01-01"' in past.text
    garbage = await client.post(f"{url}/links/{link_id}/expiry", data={"csrf": csrf, "expires_on": "tomorrow"})
    assert garbage.status_code == 422
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert (
        await client.post(f"{url}/links/{link_id}/expiry", data={"csrf": csrf, "expires_on": tomorrow})
    ).status_code == 303
    assert await conn.fetchval("SELECT expires_at IS NOT NULL FROM portal_links WHERE id = $1", link_id)
    assert (
        await client.post(f"{url}/links/{link_id}/expiry", data={"csrf": csrf, "expires_on": ""})
    ).status_code == 303
    assert await conn.fetchval("SELECT expires_at IS NULL FROM portal_links WHERE id = $1", link_id)

    assert (await client.get(issued.url)).status_code == 200
    assert (await client.post(f"{url}/links/new", data={"csrf": csrf})).status_code == 303
    await settle()  # type: ignore[operator]
    old = await client.get(issued.url)
    assert old.status_code == 404 and "Invoice Not Found" in old.text
    new_token = await conn.fetchval(
        "SELECT token FROM portal_links WHERE invoice_id = $1 AND revoked_at IS NULL", issued.invoice.id
    )
    assert (await client.get(f"/i/{new_token}")).status_code == 200
    new_id = await conn.fetchval("SELECT id FROM portal_links WHERE token = $1", new_token)
    assert (await client.post(f"{url}/links/{new_id}/revoke", data={"csrf": csrf})).status_code == 303
    await settle()  # type: ignore[operator]
    assert (await client.get(f"/i/{new_token}")).status_code == 404


async def test_portal_switches_change_what_the_customer_page_offers(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, settle: object
) -> None:
    csrf, issued = await signed_in_with_invoice(client, conn, clock)
    url = f"/console/invoices/{issued.invoice.id}/access"
    before = await client.get(issued.url)
    assert 'name="amount"' in before.text and 'id="comments"' in before.text
    bad = await client.post(url, data={"csrf": csrf, "comment_mode": "everyone"})
    assert bad.status_code == 422
    off = await client.post(url, data={"csrf": csrf, "comment_mode": "closed"})
    assert off.status_code == 303
    await settle()  # type: ignore[operator]
    after = await client.get(issued.url)
    assert 'name="amount"' not in after.text and "Online payment is turned off" in after.text
    assert 'id="comments"' not in after.text
    on = await client.post(
        url, data={"csrf": csrf, "payments_enabled": "on", "comments_enabled": "on", "comment_mode": "otp",
                   "comments_require_totp": "on"},
    )  # fmt: skip
    assert on.status_code == 303
    invoice = await select_invoice(conn, issued.invoice.id)
    assert invoice is not None and invoice.payments_enabled and invoice.comment_mode == "otp"
    assert invoice.comments_require_totp and invoice.comments_enabled


async def test_twenty_concurrent_sends_get_twenty_distinct_gapless_numbers(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws, csrf = await billing(client, conn, clock)
    customer_id = await new_customer(client, csrf)
    drafts = [await new_draft(client, csrf, customer_id) for _ in range(20)]
    data = draft_data(csrf, customer_id, THREE[:1], "send")
    answers = await asyncio.gather(
        *(client.post(f"/console/invoices/{draft}/draft", data=data, headers=HX) for draft in drafts)
    )
    assert [answer.status_code for answer in answers] == [204] * 20
    numbers = await conn.fetch("SELECT number FROM invoices WHERE workspace_id = $1", ws.id)
    year = date.today().year
    assert sorted(row["number"] for row in numbers) == [f"INV-{year}-{n:04d}" for n in range(1, 21)]
