"""Rendered PDFs shared by all processes, keyed by (invoice id, invoice version, rendering fingerprint)."""

from __future__ import annotations

from db.rows import Connection


async def select_cached_pdf(conn: Connection, invoice_id: int, version: int, fingerprint: str) -> bytes | None:
    value: bytes | None = await conn.fetchval(
        "SELECT pdf FROM pdf_cache WHERE invoice_id = $1 AND version = $2 AND fingerprint = $3",
        invoice_id,
        version,
        fingerprint,
    )
    return value


async def insert_cached_pdf(conn: Connection, invoice_id: int, version: int, fingerprint: str, pdf: bytes) -> None:
    """Drop older versions of the invoice: they can never be served again."""
    async with conn.transaction():
        await conn.execute(
            """
            INSERT INTO pdf_cache (invoice_id, version, fingerprint, pdf) VALUES ($1, $2, $3, $4)
            ON CONFLICT DO NOTHING
            """,
            invoice_id,
            version,
            fingerprint,
            pdf,
        )
        await conn.execute("DELETE FROM pdf_cache WHERE invoice_id = $1 AND version < $2", invoice_id, version)
