"""The PDF: what a finance team needs (read back with pypdf), metadata, page numbers, and the version cache."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
from pypdf import PdfReader

from db.activity import select_activity
from db.invoices import void_invoice
from tests import factories
from web.pdf import PdfRenderer

Settle = Callable[[], Awaitable[None]]


def read(response: httpx.Response) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(response.content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


async def test_pdf_carries_tax_data_and_metadata(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    response = await client.get(f"{issued.url}/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{issued.invoice.number}.pdf"'
    reader, text = read(response)
    for expected in (
        issued.invoice.number, factories.SELLER_VAT, factories.BUYER_VAT, "Acme Billing GmbH", "Customer SARL",
        "Hauptstraße 1", "1 Rue de Rivoli", "Consulting", "Support", "19%", "7%", "€172.50", "Amount due",
        "VAT breakdown", "Net 30", "IBAN DE89 3704 0044 0532 0130 00", "Page 1 of 1",
    ):  # fmt: skip
        assert expected.lower() in text.lower(), expected  # captions are upper-cased by CSS
    meta = reader.metadata
    assert meta is not None
    assert meta.title == f"Invoice {issued.invoice.number}"
    assert meta.author == "Acme Billing GmbH"
    assert meta.subject and "Customer SARL" in meta.subject
    assert meta.get("/Keywords") and issued.invoice.number in meta["/Keywords"]
    assert meta.creation_date is not None
    # Inline preview does not count as a download.
    assert await select_activity(conn, issued.invoice.id) == []


async def test_pdf_download_is_an_attachment_and_is_logged(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    response = await client.get(f"{issued.url}/pdf?download=1")
    assert response.headers["content-disposition"] == f'attachment; filename="{issued.invoice.number}.pdf"'
    assert response.headers["cache-control"] == "no-store"
    await client.head(f"{issued.url}/pdf?download=1")
    assert [a.kind for a in await select_activity(conn, issued.invoice.id)] == ["pdf_downloaded"]


async def test_pdf_long_invoice_spans_pages_with_repeated_header(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    lines = [factories.line(f"Line item number {n:02d}", "1", 1000 + n, "19") for n in range(70)]
    issued = await factories.invoice(conn, lines=lines)
    reader, _ = read(await client.get(f"{issued.url}/pdf"))
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {pages}" in text
        assert issued.invoice.number in text  # running footer
        assert "Description" in text and "Unit price" in text  # the table header repeats
    assert "Line item number 69" in reader.pages[-1].extract_text()


async def test_pdf_is_cached_by_invoice_version(
    client: httpx.AsyncClient, conn: asyncpg.Connection, pdf_renderer: PdfRenderer, settle: Settle
) -> None:
    issued = await factories.invoice(conn)
    before = pdf_renderer.renders
    first = await client.get(f"{issued.url}/pdf")
    second = await client.get(f"{issued.url}/pdf?download=1")
    assert first.content == second.content
    assert pdf_renderer.renders == before + 1
    assert await conn.fetchval("SELECT count(*) FROM pdf_cache WHERE invoice_id = $1", issued.invoice.id) == 1
    # A new version (voided) renders again and is never served stale.
    await void_invoice(conn, issued.invoice.id, "duplicate")
    await settle()
    third = await client.get(f"{issued.url}/pdf")
    assert pdf_renderer.renders == before + 2
    _, text = read(third)
    assert "Void" in text or "VOID" in text
    assert await conn.fetchval("SELECT array_agg(version) FROM pdf_cache WHERE invoice_id = $1", issued.invoice.id) == [
        issued.invoice.version + 1
    ]


async def test_pdf_concurrent_first_requests_render_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, pdf_renderer: PdfRenderer
) -> None:
    import asyncio

    issued = await factories.invoice(conn)
    before = pdf_renderer.renders
    responses = await asyncio.gather(*(client.get(f"{issued.url}/pdf") for _ in range(6)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert pdf_renderer.renders == before + 1
