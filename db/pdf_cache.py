"""Rendered PDFs shared by all processes, keyed by (invoice id, invoice version)."""

from __future__ import annotations

import asyncpg


async def select_cached_pdf(conn: asyncpg.Connection, invoice_id: int, version: int) -> bytes | None:
    return await conn.fetchval("SELECT pdf FROM pdf_cache WHERE invoice_id = $1 AND version = $2", invoice_id, version)


async def insert_cached_pdf(conn: asyncpg.Connection, invoice_id: int, version: int, pdf: bytes) -> None:
    """Keep only the newest version per invoice: an older rendering can never be served again."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO pdf_cache (invoice_id, version, pdf) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            invoice_id,
            version,
            pdf,
        )
        await conn.execute("DELETE FROM pdf_cache WHERE invoice_id = $1 AND version < $2", invoice_id, version)
