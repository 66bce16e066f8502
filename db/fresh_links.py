"""Requests for a fresh portal link (migration 0016): the link a token names in any state, and the counts the rate
limits read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection


@dataclass(frozen=True, slots=True)
class LinkOnRecord:
    """A link found by its token whatever its state, with what deciding on a fresh one needs."""

    link_id: int
    invoice_id: int
    workspace_id: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    invoice_status: str
    customer_email: str


@dataclass(frozen=True, slots=True)
class FreshLinkCounts:
    for_link: int
    for_email: int
    for_client: int


async def select_link_on_record(conn: Connection, token_hash: bytes) -> LinkOnRecord | None:
    record = await conn.fetchrow(
        """
        SELECT l.id AS link_id, l.invoice_id, i.workspace_id, l.created_at, l.expires_at, l.revoked_at,
               i.status AS invoice_status, c.email AS customer_email
        FROM portal_links l JOIN invoices i ON i.id = l.invoice_id JOIN customers c ON c.id = i.customer_id
        WHERE l.token_hash = $1
        """,
        token_hash,
    )
    return None if record is None else LinkOnRecord(**dict(record))


async def count_fresh_link_requests(
    conn: Connection, *, link_id: int | None, email: str, client: str, since: datetime
) -> FreshLinkCounts:
    record = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM fresh_link_requests WHERE link_id = $1 AND requested_at > $4) AS for_link,
               (SELECT count(*) FROM fresh_link_requests WHERE email = $2 AND requested_at > $4) AS for_email,
               (SELECT count(*) FROM fresh_link_requests WHERE client = $3 AND requested_at > $4) AS for_client
        """,
        link_id, email, client, since,
    )  # fmt: skip
    assert record is not None  # an aggregate always returns its one row
    return FreshLinkCounts(record["for_link"], record["for_email"], record["for_client"])


async def insert_fresh_link_request(
    conn: Connection, *, link_id: int | None, email: str, client: str, granted: bool, now: datetime
) -> None:
    await conn.execute(
        """
        INSERT INTO fresh_link_requests (link_id, email, client, granted, requested_at) VALUES ($1, $2, $3, $4, $5)
        """,
        link_id, email, client, granted, now,
    )  # fmt: skip
