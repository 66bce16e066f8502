"""The invoice builder: customers, drafts with lines saved as typed, live totals, preview, send."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import asyncpg
import httpx
from bs4 import BeautifulSoup

from db.activity import select_activity
from db.invoices import select_invoice_lines
from db.workspaces import Workspace
from tests import factories
from tests.conftest import MovableClock
from tests.console import account, errors_of, sign_in
from tests.mailbox import Mailbox
from tests.queries import select_invoice

HX = {"HX-Request": "true"}


async def billing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, slug: str = "acme"
) -> tuple[Workspace, str]:
    """A workspace and its billing teammate, signed in; returns the workspace and the session's CSRF token."""
    ws = await factories.workspace(conn, slug=slug)
    staff = await account(conn, ws)
    csrf = await sign_in(client, conn, clock, staff.email)
    return ws, csrf


async def new_customer(client: httpx.AsyncClient, csrf: str, **fields: str) -> int:
    values = {"csrf": csrf, "name": "Customer SARL", "email": "ap@customer.example", "street": "1 Rue de Rivoli",
              "postcode": "75001", "city": "Paris", "country_code": "FR", "tax_id": "FR40303265045", "locale": "en_IE",
              **fields}  # fmt: skip
    answer = await client.post("/console/customers", data=values)
    assert answer.status_code == 303, errors_of(answer.text)
    return int(answer.headers["location"].split("/")[-1].split("?")[0])


async def new_draft(client: httpx.AsyncClient, csrf: str, customer_id: int) -> int:
    answer = await client.post("/console/invoices", data={"csrf": csrf, "customer_id": str(customer_id)})
    assert answer.status_code == 303
    return int(answer.headers["location"].rsplit("/", 1)[1])


def draft_data(
    csrf: str, customer_id: int, lines: list[tuple[str, str, str, str]], action: str = "save", **header: str
) -> dict[str, str | list[str]]:
    data = [("csrf", csrf), ("customer_id", str(customer_id)), ("currency", "EUR"), ("locale", "en_IE"),
            ("issue_date", ""), ("due_date", ""), ("notes", ""), ("payment_terms", "Net 30")]  # fmt: skip
    data = [(k, header.get(k, v)) for k, v in data]
    for index, (description, quantity, price, rate) in enumerate(lines):
        key = f"key{index:04d}"
        data += [("line_key", key), (f"line-{key}-description", description), (f"line-{key}-quantity", quantity),
                 (f"line-{key}-unit_price", price), (f"line-{key}-tax_rate", rate)]  # fmt: skip
    form: dict[str, str | list[str]] = {"action": action, "line_key": [key for name, key in data if name == "line_key"]}
    form.update((name, value) for name, value in data if name != "line_key")
    return form


def totals_of(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return {cell["data-total"]: cell.get_text(strip=True) for cell in soup.select("[data-total]")}


THREE = [("Design", "10", "85.00", "19"), ("Hosting", "1", "20", "7"), ("Workshop", "0.5", "1200,50", "19")]


async def test_customer_validation_keeps_input_and_saves_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    _ws, csrf = await billing(client, conn, clock)
    bad = await client.post(
        "/console/customers",
        data={
            "csrf": csrf,
            "name": "  ",
            "email": "not-an-address",
            "street": "x" * 201,
            "city": "Paris",
            "country_code": "",
            "tax_id": "<script>",
            "locale": "xx_YY_ZZ",
            "endpoint_id": "04011000-12345-06",
        },
    )
    assert bad.status_code == 422
    errors = " ".join(errors_of(bad.text))
    for expected in (
        "Enter the customer's name", "not an e-mail address", "at most 200", "Choose the country", "VAT", "language",
        "Choose what kind of electronic address",
    ):  # fmt: skip
        assert expected in errors
    assert 'value="not-an-address"' in bad.text and "&lt;script&gt;" in bad.text and "<script>" not in bad.text
    assert await conn.fetchval("SELECT count(*) FROM customers") == 0
    customer_id = await new_customer(client, csrf, name="<b>Bold</b> & Co")
    page = await client.get(f"/console/customers/{customer_id}")
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page.text
    edited = await client.post(
        f"/console/customers/{customer_id}",
        data={
            "csrf": csrf,
            "name": "Renamed",
            "email": "new@customer.example",
            "street": "Musterweg 5",
            "postcode": "53113",
            "city": "Bonn",
            "country_code": "DE",
            "tax_id": "",
            "locale": "de_DE",
            "buyer_reference": "04011000-12345-06",
            "endpoint_scheme": "0204",
            "endpoint_id": "04011000-12345-06",
        },
    )
    assert edited.status_code == 303
    saved = await conn.fetchrow(
        "SELECT name, locale, billing_address, buyer_reference, endpoint_scheme FROM customers WHERE id = $1",
        customer_id,
    )
    # The printed address is made from the parts.
    assert tuple(saved) == ("Renamed", "de_DE", "Musterweg 5\n53113 Bonn\nGermany", "04011000-12345-06", "0204")


async def test_draft_saves_as_typed_with_live_totals_and_marked_mistakes(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    _ws, csrf = await billing(client, conn, clock)
    customer_id = await new_customer(client, csrf)
    invoice_id = await new_draft(client, csrf, customer_id)
    url = f"/console/invoices/{invoice_id}/draft"

    saved = await client.post(url, data=draft_data(csrf, customer_id, THREE), headers=HX)
    assert saved.status_code == 200, saved.text
    # 850.00 + 600.25 at 19 % = 1,450.25 net -> 275.55 VAT; 20.00 at 7 % -> 1.40.
    assert totals_of(saved.text) == {"net": "€1,470.25", "vat-19": "€275.55", "vat-7": "€1.40", "total": "€1,747.20"}
    assert 'hx-swap-oob="true"' in saved.text

    nasty = [("Design", "1e3", "85.00", "19"), ("Hosting", "NaN", "-5", "7"), ("Work", "١٢", "12.345", "100"),
             ("", "2", "10", "19")]  # fmt: skip
    refused = await client.post(url, data=draft_data(csrf, customer_id, nasty, due_date="2026-02-30"), headers=HX)
    assert refused.status_code == 422
    messages = " ".join(
        errors_of(refused.text)
        + [p.get_text() for p in BeautifulSoup(refused.text, "html.parser").select(".field-error")]
    )
    for expected in (
        "digits 0–9",
        "at most 2 decimals",
        "percentage below 100",
        "Describe what is billed",
        "date like",
    ):
        assert expected in messages, expected
    # Nothing typed is lost: a reload shows the form exactly as typed, mistakes marked.
    page = await client.get(f"/console/invoices/{invoice_id}")
    for typed in ("1e3", "NaN", "١٢", "12.345", "2026-02-30"):
        assert typed in page.text
    assert page.text.count('aria-invalid="true"') >= 5
    # Only the valid line ("Hosting" at -5 is valid as a discount? no: its quantity is NaN) counts.
    assert await select_invoice_lines(conn, invoice_id) == []

    added = await client.post(url, data=draft_data(csrf, customer_id, THREE[:1], "add_line"), headers=HX)
    assert added.status_code == 200 and added.text.count('name="line_key"') == 2 and "autofocus" in added.text
    removed = await client.post(url, data=draft_data(csrf, customer_id, THREE, "remove:key0001"), headers=HX)
    assert removed.text.count('name="line_key"') == 2 and "Hosting" not in removed.text
    lines = await select_invoice_lines(conn, invoice_id)
    assert [line.description for line in lines] == ["Design", "Workshop"]


async def test_preview_is_the_customer_page_marked_and_records_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    _ws, csrf = await billing(client, conn, clock)
    customer_id = await new_customer(client, csrf)
    invoice_id = await new_draft(client, csrf, customer_id)
    await client.post(f"/console/invoices/{invoice_id}/draft", data=draft_data(csrf, customer_id, THREE), headers=HX)
    preview = await client.get(f"/console/invoices/{invoice_id}/preview")
    assert preview.status_code == 200
    assert "Preview: this is exactly what the customer sees" in preview.text
    assert "Design" in preview.text and "€1,747.20" in preview.text
    assert "/views" not in preview.text and "data-stream" not in preview.text
    pdf = await client.get(f"/console/invoices/{invoice_id}/preview/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert await conn.fetchval("SELECT count(*) FROM activity") == 0


async def test_send_numbers_snapshots_links_and_mails_then_freezes_amounts(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, mailbox: Mailbox
) -> None:
    _ws, csrf = await billing(client, conn, clock)
    customer_id = await new_customer(client, csrf)
    invoice_id = await new_draft(client, csrf, customer_id)
    data = draft_data(csrf, customer_id, THREE, "send")
    sent = await client.post(f"/console/invoices/{invoice_id}/draft", data=data, headers=HX)
    assert sent.status_code == 204 and sent.headers["HX-Redirect"] == f"/console/invoices/{invoice_id}?done=sent"
    invoice = await select_invoice(conn, invoice_id)
    assert invoice is not None and invoice.status == "open"
    assert invoice.number == f"INV-{date.today().year}-0001"
    assert invoice.buyer_snapshot["legal_name"] == "Customer SARL"  # type: ignore[index]
    subject, body = await mailbox.text_of("ap@customer.example")
    link = re.search(r"http://[^\s]+/i/([A-Za-z0-9_-]+)", body)
    assert link is not None and invoice.number in subject
    portal = await client.get(f"/i/{link.group(1)}")
    assert portal.status_code == 200 and "€1,747.20" in portal.text
    assert [a.kind for a in await select_activity(conn, invoice_id)] == ["sent"]

    again = await client.post(f"/console/invoices/{invoice_id}/draft", data=data, headers=HX)
    assert again.status_code == 204  # a double click finds it sent: no second number, no second mail
    changed = await client.post(
        f"/console/invoices/{invoice_id}/draft", data=draft_data(csrf, customer_id, THREE[:1]), headers=HX
    )
    assert changed.status_code == 409
    assert len(await select_invoice_lines(conn, invoice_id)) == 3
    await asyncio.sleep(0.2)
    assert len(mailbox.to("ap@customer.example")) == 1
    try:
        await conn.execute("DELETE FROM invoice_lines WHERE invoice_id = $1", invoice_id)
    except asyncpg.CheckViolationError as frozen:
        assert "frozen" in str(frozen)
    else:
        raise AssertionError("the database let an issued invoice's lines change")
