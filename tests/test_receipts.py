"""Receipts (issue 17): every successful payment (card, or recorded by billing) has a receipt as a page and a PDF
from the same template, listed on the invoice and in the history, and e-mailed to the customer once. Real
database, SMTP and WeasyPrint."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from db.payments import insert_settled_payment
from db.rows import init_connection
from tests import factories
from tests.mailbox import Mailbox
from tests.test_history import sign_in
from web.http.templating import build_templates
from web.i18n.letters import Letters
from web.mail import Mailer
from web.payments.settlement import settle as settle_invoice
from web.receipts.mailing import mail_receipts
from web.settings import Settings

Settle = Callable[[], Awaitable[None]]


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    opened = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=3, init=init_connection)
    yield opened
    await opened.close()


async def paid_twice(conn: asyncpg.Connection, slug: str = "acme") -> factories.Issued:
    """€172.50 due: 50.00 by bank transfer, then 22.50 by card."""
    issued = await factories.invoice(conn, ws=await factories.workspace(conn, slug=slug))
    await insert_settled_payment(
        conn, invoice_id=issued.invoice.id, amount=5000, currency="EUR", method="bank_transfer", reference="SEPA 42"
    )
    card = await insert_settled_payment(conn, invoice_id=issued.invoice.id, amount=2250, currency="EUR", method="card")
    await conn.execute("UPDATE payments SET card_brand = 'visa', card_last4 = '4242' WHERE id = $1", card.id)
    async with conn.transaction():
        await settle_invoice(conn, issued.invoice.id)
    return issued


def pdf_text(response: httpx.Response) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


async def test_each_payment_has_a_receipt_page_and_pdf_listed_on_the_invoice(
    client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Settle
) -> None:
    issued = await paid_twice(conn)
    await settle()
    number = issued.invoice.number
    page = BeautifulSoup((await client.get(issued.url)).text, "html.parser")
    receipts = [(str(a["data-receipt"]), str(a["href"])) for a in page.select(".payments a[data-receipt]")]
    assert [text for text, _ in receipts] == [f"{number}-R1", f"{number}-R2"]

    second = await client.get(receipts[1][1])
    assert second.status_code == 200
    text = BeautifulSoup(second.text, "html.parser").get_text(" ", strip=True)
    for expected in (
        f"Receipt {number}-R2",
        "€22.50",
        "Visa •••• 4242",
        "€100.00",
        "Acme Billing GmbH",
        "Customer SARL",
    ):
        assert expected in text, expected
    first = BeautifulSoup((await client.get(receipts[0][1])).text, "html.parser").get_text(" ", strip=True)
    assert "Bank transfer" in first and "SEPA 42" in first and "€122.50" in first  # still due after it

    pdf = await client.get(f"{receipts[1][1]}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{number}-R2.pdf"'
    read = pdf_text(pdf)
    for expected in (f"{number}-R2", "€22.50", "4242", "€100.00"):
        assert expected in read, expected
    # Another invoice's payment is not a receipt of this one.
    other = await paid_twice(conn, "other")
    other_payment = await conn.fetchval("SELECT min(id) FROM payments WHERE invoice_id = $1", other.invoice.id)
    assert (await client.get(f"{issued.url}/receipts/{other_payment}")).status_code == 404
    assert (await client.get(f"{issued.url}/receipts/{other_payment}/pdf")).status_code == 404


async def test_receipts_are_mailed_once_each(
    conn: asyncpg.Connection, mailbox: Mailbox, settings: Settings, pool: asyncpg.Pool
) -> None:
    issued = await paid_twice(conn)
    templates = build_templates(settings.templates_dir, settings.static_dir, static_path=lambda path: f"/static/{path}")
    letters, mailer = Letters(templates), Mailer(settings.smtp_url, settings.mail_from)

    def url(token: str, payment_id: int) -> str:
        return f"https://portal.example/i/{token}/receipts/{payment_id}"

    now = datetime.now(UTC)
    assert await mail_receipts(pool, mailer, letters, url, now) == 2
    assert await mail_receipts(pool, mailer, letters, url, now) == 0  # once only
    subject, body = await mailbox.text_of("ap@customer.example", 2)
    assert subject == f"Receipt {issued.invoice.number}-R2 from Acme Billing GmbH"
    assert "€22.50" in body and "Still due on this invoice: €100.00." in body
    link = re.search(r"https://portal\.example/i/([A-Za-z0-9_-]+)/receipts/(\d+)", body)
    assert link is not None and link.group(1) == issued.token


async def test_the_history_lists_each_invoices_receipts(
    client: httpx.AsyncClient, conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    issued = await paid_twice(conn)
    history = await sign_in(client, issued, mailbox)
    soup = BeautifulSoup((await client.get(history)).text, "html.parser")
    links = {str(a["data-receipt"]): str(a["href"]) for a in soup.select("[data-receipt]")}
    assert sorted(links) == [f"{issued.invoice.number}-R1", f"{issued.invoice.number}-R2"]
    pdf = await client.get(links[f"{issued.invoice.number}-R1"])
    assert pdf.status_code == 200 and "SEPA 42" in pdf_text(pdf)
