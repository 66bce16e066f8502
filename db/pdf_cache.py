"""Rendered PDFs shared by all processes, keyed by (invoice id, invoice version, rendering fingerprint)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    """Drop older versions of the invoice: they can never be served again; and the render's claim, done (the
    claims of other renders of this version, another language or kind, are theirs)."""
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
        await conn.execute(
            """
            DELETE FROM pdf_render_claims
            WHERE invoice_id = $1 AND (version < $2 OR (version = $2 AND fingerprint = $3))
            """,
            invoice_id,
            version,
            fingerprint,
        )


async def select_invoices_without_pdf(
    conn: Connection, fingerprint: str, *, among: list[int] | None, limit: int, recent_days: int
) -> list[int]:
    """Issued invoices whose current version has no PDF under this rendering fingerprint (any language's words),
    the ones customers are likeliest to open first: open invoices, then the most recently changed. `among`: only
    these ids (the invoices just changed); None: a sweep of open invoices and those changed in `recent_days`."""
    records = await conn.fetch(
        """
        SELECT i.id FROM invoices i
        WHERE i.status <> 'draft'
          AND ($2::bigint[] IS NULL AND (i.status = 'open' OR i.updated_at > now() - make_interval(days => $4))
               OR i.id = ANY($2::bigint[]))
          AND NOT EXISTS (
              SELECT 1 FROM pdf_cache c
              WHERE c.invoice_id = i.id AND c.version = i.version
                AND (c.fingerprint = $1 OR starts_with(c.fingerprint, $1 || ':')))
        ORDER BY i.status = 'open' DESC, i.updated_at DESC
        LIMIT $3
        """,
        fingerprint, among, limit, recent_days,
    )  # fmt: skip
    return [record["id"] for record in records]


@dataclass(frozen=True, slots=True)
class RenderClaim:
    """Whose the render of one PDF is: this process's (`mine`: the claim's expiry, which names it), or another's,
    still rendering or `failed` a moment ago."""

    mine: datetime | None
    failed: bool = False


async def claim_render(
    conn: Connection, invoice_id: int, version: int, fingerprint: str, seconds: float, *, retry_failed: bool = False
) -> RenderClaim:
    """Claim the render of this PDF for `seconds`, unless another process holds an unexpired claim; one marked
    failed is taken over when `retry_failed` (a new request may try again; those that waited for it may not)."""
    mine: datetime | None = await conn.fetchval(
        """
        INSERT INTO pdf_render_claims AS c (invoice_id, version, fingerprint, claimed_until)
        VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4))
        ON CONFLICT (invoice_id, version, fingerprint)
            DO UPDATE SET claimed_until = excluded.claimed_until, failed = false
            WHERE c.claimed_until < clock_timestamp() OR ($5 AND c.failed)
        RETURNING claimed_until
        """,
        invoice_id, version, fingerprint, seconds, retry_failed,
    )  # fmt: skip
    if mine is not None:
        return RenderClaim(mine)
    failed: bool | None = await conn.fetchval(
        "SELECT failed FROM pdf_render_claims WHERE invoice_id = $1 AND version = $2 AND fingerprint = $3",
        invoice_id,
        version,
        fingerprint,
    )
    return RenderClaim(None, bool(failed))


async def end_claim(
    conn: Connection, invoice_id: int, version: int, fingerprint: str, mine: datetime, *, failed_for: float = 0
) -> None:
    """End this process's claim (a claim another process has since taken over is left alone); `failed_for`:
    keep it that many seconds marked failed instead, so that the requests waiting for it give up."""
    mine_only = "invoice_id = $1 AND version = $2 AND fingerprint = $3 AND claimed_until = $4"
    if failed_for > 0:
        await conn.execute(
            "UPDATE pdf_render_claims SET failed = true, claimed_until = clock_timestamp() + make_interval(secs => $5)"
            f" WHERE {mine_only}",
            invoice_id, version, fingerprint, mine, failed_for,
        )  # fmt: skip
    else:
        await conn.execute(f"DELETE FROM pdf_render_claims WHERE {mine_only}", invoice_id, version, fingerprint, mine)


async def try_lock_render(conn: Connection, invoice_id: int) -> bool:
    """Only one process pre-renders an invoice at a time (held until the caller's transaction ends)."""
    taken: bool = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('pdf-render:' || $1::bigint, 0))", invoice_id
    )
    return taken
