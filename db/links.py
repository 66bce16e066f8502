"""Portal links: capability tokens to one invoice, looked up by their SHA-256, with expiry and revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.invoices import Invoice
from db.rows import Connection, columns, prefixed, row_to, row_to_one, rows_to


@dataclass(frozen=True, slots=True)
class PortalLink:
    id: int
    invoice_id: int
    token: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


COLUMNS = columns(PortalLink)
_INVOICE_COLUMNS = prefixed(Invoice, "i")


async def insert_portal_link(
    conn: Connection, *, invoice_id: int, token: str, token_hash: bytes, expires_at: datetime | None = None
) -> PortalLink:
    record = await conn.fetchrow(
        f"""
        INSERT INTO portal_links (invoice_id, token, token_hash, expires_at) VALUES ($1, $2, $3, $4)
        RETURNING {COLUMNS}
        """,
        invoice_id,
        token,
        token_hash,
        expires_at,
    )
    return row_to_one(PortalLink, record)


async def select_live_link(
    conn: Connection, token_hash: bytes, now: datetime
) -> tuple[Invoice, datetime | None] | None:
    """The invoice behind a link live at `now` and the link's expiry: unknown, expired, revoked and draft all give
    None, in the same one query."""
    record = await conn.fetchrow(
        f"""
        SELECT {_INVOICE_COLUMNS}, l.expires_at AS link_expires_at
        FROM portal_links l JOIN invoices i ON i.id = l.invoice_id
        WHERE l.token_hash = $1
          AND l.revoked_at IS NULL
          AND (l.expires_at IS NULL OR l.expires_at > $2)
          AND i.status <> 'draft'
        """,
        token_hash,
        now,
    )
    if record is None:
        return None
    return row_to_one(Invoice, record), record["link_expires_at"]


async def select_links_for_invoice(conn: Connection, invoice_id: int) -> list[PortalLink]:
    records = await conn.fetch(
        f"SELECT {COLUMNS} FROM portal_links WHERE invoice_id = $1 ORDER BY created_at, id", invoice_id
    )
    return rows_to(PortalLink, records)


async def revoke_link(conn: Connection, link_id: int) -> PortalLink | None:
    record = await conn.fetchrow(
        f"""
        UPDATE portal_links SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
        RETURNING {COLUMNS}
        """,
        link_id,
    )
    return row_to(PortalLink, record)


async def set_link_expiry(
    conn: Connection, invoice_id: int, link_id: int, expires_at: datetime | None
) -> PortalLink | None:
    """Scoped by invoice: a link id of another invoice changes nothing."""
    record = await conn.fetchrow(
        f"""
        UPDATE portal_links SET expires_at = $3 WHERE id = $2 AND invoice_id = $1 AND revoked_at IS NULL
        RETURNING {COLUMNS}
        """,
        invoice_id,
        link_id,
        expires_at,
    )
    return row_to(PortalLink, record)


async def revoke_invoice_link(conn: Connection, invoice_id: int, link_id: int) -> PortalLink | None:
    record = await conn.fetchrow(
        f"""
        UPDATE portal_links SET revoked_at = coalesce(revoked_at, now()) WHERE id = $2 AND invoice_id = $1
        RETURNING {COLUMNS}
        """,
        invoice_id,
        link_id,
    )
    return row_to(PortalLink, record)
