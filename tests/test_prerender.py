"""No customer waits for a render (issue 19): an invoice's PDF is rendered when it is sent or changed, and a sweep
at start renders what a deploy left without one, so the customer's first request is a cache hit."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import asyncpg
import pytest

from db.links import select_live_link
from db.payments import insert_settled_payment
from db.pdf_cache import claim_render, end_claim
from tests import factories
from tests.conftest import AppVariant, asgi_client
from web.dev.demo import load_demo
from web.einvoice.files import available_kinds
from web.invoices.documents import load_document
from web.invoices.links import token_hash
from web.pdf import PdfCache, PdfRenderer, PdfUnavailable, PrintJob
from web.settings import Settings


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


async def test_e_invoice_files_are_made_with_the_pdf_and_shared(
    app_variant: AppVariant, conn: asyncpg.Connection, settings: Settings
) -> None:
    """Sent invoices' e-invoice files are built beside their PDF, into a table every process reads: a customer's
    first download (here, from a process that never built one) is a read, not a build."""
    links = dict(await load_demo(settings.database_url))
    found = await select_live_link(conn, token_hash(links["open"]), datetime.now(UTC))
    assert found is not None
    document = await load_document(conn, found[0])
    kinds = available_kinds(document)
    assert "ubl" in kinds and "cii" in kinds
    stored = "SELECT kind FROM einvoice_files WHERE invoice_id = $1 AND version = $2 ORDER BY kind"
    async with app_variant(pdf_prerender_seconds=3600) as manager:
        start = time.monotonic()
        while [row["kind"] for row in await conn.fetch(stored, found[0].id, found[0].version)] != sorted(kinds):
            assert time.monotonic() - start < 30, "the e-invoice files were not made"
            await asyncio.sleep(0.05)
    # Marked in the table only: a file served with the mark was read from it, not built again.
    await conn.execute("UPDATE einvoice_files SET xml = xml || '<!-- shared -->'::bytea")
    async with app_variant() as manager, asgi_client(manager) as client:
        for kind in kinds:
            answer = await client.get(f"/i/{links['open']}/e-invoice/{kind}")
            assert answer.status_code == 200 and answer.content.endswith(b"<!-- shared -->"), kind


async def test_two_processes_missing_the_same_pdf_render_it_once(
    database_url: str, conn: asyncpg.Connection, pdf_renderer: PdfRenderer
) -> None:
    """Two processes' caches (each with its own memory) miss the same PDF at once: one renders, the other waits
    for it to land in the shared table. A claim left by a process that died runs out, and the next renders."""
    issued = await factories.invoice(conn)
    builds = 0

    async def build() -> PrintJob:
        nonlocal builds
        builds += 1
        return PrintJob(f"<html><body><h1>{issued.invoice.number}</h1></body></html>")

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    try:
        first, second = (PdfCache(pdf_renderer, memory_bytes=10**6, fingerprint="claims") for _ in range(2))
        pdfs = await asyncio.gather(
            first.get(pool, issued.invoice.id, 1, build), second.get(pool, issued.invoice.id, 1, build)
        )
        assert pdfs[0] == pdfs[1] and pdfs[0].startswith(b"%PDF")
        assert builds == 1  # counted by our builds: the shared renderer may render for another app meanwhile
        claims = "SELECT count(*) FROM pdf_render_claims WHERE invoice_id = $1"
        assert await conn.fetchval(claims, issued.invoice.id) == 0  # the claim went with the render

        # A process claimed version 2 and died: the claim runs out, then the waiting process renders it.
        assert (await claim_render(conn, issued.invoice.id, 2, "claims", 0.5)).mine is not None
        started = time.monotonic()
        third = PdfCache(pdf_renderer, memory_bytes=10**6, fingerprint="claims")
        assert (await third.get(pool, issued.invoice.id, 2, build)).startswith(b"%PDF")
        assert time.monotonic() - started >= 0.4
        assert builds == 2

        # Another process is rendering version 3 and fails: the request waiting for it is told so, with the
        # message a failed render gives, instead of trying the same render next; a new request may try again.
        claim = await claim_render(conn, issued.invoice.id, 3, "claims", 30)
        assert claim.mine is not None
        waiting = asyncio.create_task(third.get(pool, issued.invoice.id, 3, build))
        await asyncio.sleep(0.3)
        await end_claim(conn, issued.invoice.id, 3, "claims", claim.mine, failed_for=30)
        with pytest.raises(PdfUnavailable):
            await waiting
        assert builds == 2
        assert (await third.get(pool, issued.invoice.id, 3, build)).startswith(b"%PDF")
        assert builds == 3
    finally:
        await pool.close()
