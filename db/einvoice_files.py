"""E-invoice files shared by all processes, keyed by (invoice id, invoice version, kind, fingerprint)."""

from __future__ import annotations

from db.rows import Connection


async def select_einvoice_xml(
    conn: Connection, invoice_id: int, version: int, kind: str, fingerprint: str
) -> bytes | None:
    value: bytes | None = await conn.fetchval(
        """
        SELECT xml FROM einvoice_files
        WHERE invoice_id = $1 AND version = $2 AND kind = $3 AND fingerprint = $4
        """,
        invoice_id, version, kind, fingerprint,
    )  # fmt: skip
    return value


async def insert_einvoice_xml(
    conn: Connection, invoice_id: int, version: int, kind: str, fingerprint: str, xml: bytes
) -> None:
    """Older versions of the invoice's files are dropped: they can never be asked for again."""
    async with conn.transaction():
        await conn.execute(
            """
            INSERT INTO einvoice_files (invoice_id, version, kind, fingerprint, xml) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT DO NOTHING
            """,
            invoice_id, version, kind, fingerprint, xml,
        )  # fmt: skip
        await conn.execute("DELETE FROM einvoice_files WHERE invoice_id = $1 AND version < $2", invoice_id, version)
