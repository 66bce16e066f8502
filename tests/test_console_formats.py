"""Each teammate's console writes numbers, money and dates in one format of their choosing, on every page: the
invoice list and the invoice page agree, and a received amount is read in that format."""

from __future__ import annotations

import asyncpg
import httpx
from bs4 import BeautifulSoup

from tests import factories
from tests.conftest import MovableClock
from tests.console import account, sign_in


def amounts(html: str) -> set[str]:
    soup = BeautifulSoup(html, "html.parser")
    return {cell.get_text(strip=True) for cell in soup.select("td.num, dd")} & {"€172.50", "172,50\xa0€"}


async def test_console_formats_follow_the_teammate(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn, locale="ja_JP")  # the invoice's own language does not matter here
    staff = await account(conn, issued.workspace)
    csrf = await sign_in(client, conn, clock, staff.email)
    invoice_page = f"/console/invoices/{issued.invoice.id}"
    assert amounts((await client.get("/console/invoices")).text) == {"€172.50"}
    assert amounts((await client.get(invoice_page)).text) == {"€172.50"}

    refused = await client.post("/console/account/formats", data={"csrf": csrf, "formats": "tlh"})
    assert refused.status_code == 422
    saved = await client.post("/console/account/formats", data={"csrf": csrf, "formats": "de_DE"})
    assert saved.status_code == 303
    assert "12.345,67\xa0€" in (await client.get(saved.headers["location"])).text
    assert amounts((await client.get("/console/invoices")).text) == {"172,50\xa0€"}
    assert amounts((await client.get(invoice_page)).text) == {"172,50\xa0€"}

    # A bank transfer typed the German way is read the German way; a refusal formats its amount so too.
    too_much = await client.post(
        f"{invoice_page}/payments", data={"csrf": csrf, "amount": "200,00", "method": "bank_transfer"}
    )
    assert too_much.status_code == 422 and "172,50\xa0€" in too_much.text
    recorded = await client.post(
        f"{invoice_page}/payments", data={"csrf": csrf, "amount": "12,50", "method": "bank_transfer"}
    )
    assert recorded.status_code == 303
    assert await conn.fetchval("SELECT amount FROM payments WHERE invoice_id = $1", issued.invoice.id) == 1250
