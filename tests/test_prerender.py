"""No customer waits for a render (issue 19): an invoice's PDF is rendered when it is sent or changed, and a sweep
at start renders what a deploy left without one, so the customer's first request is a cache hit."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from db.payments import insert_settled_payment
from tests import factories
from tests.conftest import AppVariant, asgi_client
from web.pdf import PdfRenderer


async def cached_versions(conn: asyncpg.Connection, invoice_id: int) -> list[int]:
    rows = await conn.fetch("SELECT version FROM pdf_cache WHERE invoice_id = $1 ORDER BY version", invoice_id)
    return [row["version"] for row in rows]


async def until_cached(conn: asyncpg.Connection, invoice_id: int, version: int, seconds: float = 30.0) -> float:
    """How long until the invoice's PDF of `version` is in the shared cache."""
    start = time.monotonic()
    while version not in await cached_versions(conn, invoice_id):
        assert time.monotonic() - start < seconds, f"no PDF of version {version} after {seconds} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_pdfs_are_rendered_before_the_customer_asks(
    app_variant: AppVariant, conn: asyncpg.Connection, pdf_renderer: PdfRenderer
) -> None:
    # Issued while no portal ran (a deploy's gap): the start-up sweep renders it.
    waiting = await factories.invoice(conn)
    draft = await factories.invoice(conn, ws=waiting.workspace, issue=False)
    async with app_variant(pdf_prerender_seconds=3600) as manager, asgi_client(manager) as client:
        await until_cached(conn, waiting.invoice.id, waiting.invoice.version)
        assert await cached_versions(conn, draft.invoice.id) == []  # a draft is nobody's to open yet

        # Sent now: rendered at once, as the change reaches the process.
        sent = await factories.invoice(conn, ws=waiting.workspace)
        await until_cached(conn, sent.invoice.id, sent.invoice.version)
        renders = pdf_renderer.renders
        answer = await client.get(f"{sent.url}/pdf?download=1")
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
        assert pdf_renderer.renders == renders  # the customer's first request: a hit

        # A payment changes the document (it shows what was paid): the new version is rendered too.
        await insert_settled_payment(conn, invoice_id=sent.invoice.id, amount=5000, currency="EUR", method="other")
        version = await conn.fetchval("SELECT version FROM invoices WHERE id = $1", sent.invoice.id)
        assert version > sent.invoice.version
        await until_cached(conn, sent.invoice.id, version)
        assert await cached_versions(conn, sent.invoice.id) == [version]  # older versions are dropped
