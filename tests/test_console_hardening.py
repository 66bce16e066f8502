"""Nasty input against the console: huge ids, NUL bytes, other scripts' digits, overflowing totals, long drafts,
parallel password guesses. Each gets a clear 4xx, never a 500, and nothing half-written."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from tests import factories
from tests.conftest import MovableClock
from tests.console import account, sign_in
from tests.test_console_builder import HX, THREE, billing, draft_data, new_customer, new_draft


async def test_huge_ids_and_nul_bytes_are_refused_cleanly(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    staff = await account(conn, ws)
    nul = await client.post("/console/sign-in", data={"email": "a\x00b@x.example", "password": "x" * 12})
    assert nul.status_code == 422
    csrf = await sign_in(client, conn, clock, staff.email)
    huge = "9" * 25
    for url in (f"/console/invoices/{huge}", f"/console/customers/{huge}", f"/console/threads/{huge}"):
        assert (await client.get(url)).status_code == 404, url
    assert (await client.get("/console/customers?q=a%00b")).status_code == 200
    bad = await client.post("/console/customers", data={"csrf": csrf, "name": "A\x00B", "email": "x\x00@y.example",
                                                        "locale": "en"})  # fmt: skip
    assert bad.status_code == 303  # NUL is dropped on the way in: what is left is a valid customer
    assert await conn.fetchval("SELECT name || ' ' || email FROM customers") == "AB x@y.example"
    customer_id = await new_customer(client, csrf, name="Nul\x00 Ltd")
    assert await conn.fetchval("SELECT name FROM customers WHERE id = $1", customer_id) == "Nul Ltd"
    invoice_id = await new_draft(client, csrf, customer_id)
    data = draft_data(csrf, customer_id, THREE, notes="a\x00b")
    assert (await client.post(f"/console/invoices/{invoice_id}/draft", data=data, headers=HX)).status_code == 200
    data = draft_data(csrf, customer_id, THREE)
    data["customer_id"] = "²"
    assert (await client.post(f"/console/invoices/{invoice_id}/draft", data=data, headers=HX)).status_code == 422


async def test_a_long_draft_saves_and_an_overflowing_total_cannot_be_sent(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    _ws, csrf = await billing(client, conn, clock)
    customer_id = await new_customer(client, csrf)
    invoice_id = await new_draft(client, csrf, customer_id)
    many = [(f"Item {i}", "1", "1.00", "19") for i in range(150)]
    saved = await client.post(
        f"/console/invoices/{invoice_id}/draft", data=draft_data(csrf, customer_id, many), headers=HX
    )
    assert saved.status_code == 200
    assert await conn.fetchval("SELECT count(*) FROM invoice_lines WHERE invoice_id = $1", invoice_id) == 150
    giant = [("Giant", "9999999999", "9999999999.99", "19")] * 3
    sent = await client.post(
        f"/console/invoices/{invoice_id}/draft", data=draft_data(csrf, customer_id, giant, "send"), headers=HX
    )
    assert sent.status_code == 422 and "larger than one invoice can carry" in sent.text
    assert await conn.fetchval("SELECT status FROM invoices WHERE id = $1", invoice_id) == "draft"
    assert await conn.fetchval("SELECT count(*) FROM invoice_number_counters") == 0


async def test_a_void_invoice_cannot_be_mailed_again(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    issued = await factories.invoice(conn)
    staff = await account(conn, issued.workspace)
    csrf = await sign_in(client, conn, clock, staff.email)
    url = f"/console/invoices/{issued.invoice.id}"
    assert (await client.post(f"{url}/void", data={"csrf": csrf, "reason": "Duplicate"})).status_code == 303
    assert (await client.post(f"{url}/resend", data={"csrf": csrf})).status_code == 409
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE kind = 'invoice_link'") == 0


async def test_parallel_password_guesses_still_back_off(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    ws = await factories.workspace(conn)
    staff = await account(conn, ws)
    # Twelve guesses at one moment: on a loaded machine their password checks take seconds, and the 2-second
    # back-off after the third failure would rightly have passed before the last ones were judged.
    clock.frozen = clock()
    answers = await asyncio.gather(
        *(client.post("/console/sign-in", data={"email": staff.email, "password": f"guess {i}"}) for i in range(12))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(422) == 3 and statuses.count(429) == 9, statuses
    assert await conn.fetchval("SELECT count(*) FROM staff_sign_in_failures") == 3
