"""The support inbox: threads waiting for the billing team, and the "handled" mark that clears one.

A thread is open when its newest customer (or guest) comment is newer than both the team's newest reply and
the comment a teammate marked it handled through. Comment ids grow in commit order per invoice (db/comments.py),
so "newer" is a comparison of ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, rows_to

EXCERPT_LENGTH = 160


@dataclass(frozen=True, slots=True)
class OpenThread:
    invoice_id: int
    number: str | None
    customer_name: str
    # The newest comment the team has not answered.
    comment_id: int
    author_name: str
    author_role: str
    excerpt: str  # whitespace folded, at most EXCERPT_LENGTH characters
    clipped: bool  # the comment is longer than the excerpt
    created_at: datetime
    unanswered: int


async def select_open_threads(conn: Connection, workspace_id: int, limit: int = 100) -> list[OpenThread]:
    """Newest waiting comment first. The waiting threads are kept in thread_inbox by triggers (migration 0025),
    so the cost is that of the threads shown, however many invoices the workspace has."""
    records = await conn.fetch(
        """
        SELECT i.id AS invoice_id, i.number, c.name AS customer_name,
               w.id AS comment_id, w.author_name, w.author_role, w.created_at,
               rtrim(left(regexp_replace(w.body, '\\s+', ' ', 'g'), $3)) AS excerpt,
               length(regexp_replace(w.body, '\\s+', ' ', 'g')) > $3 AS clipped,
               (SELECT count(*) FROM comments u
                WHERE u.invoice_id = i.id AND u.author_role IN ('customer', 'guest')
                  AND u.id > greatest(i.thread_handled_through, s.id)) AS unanswered
        FROM thread_inbox t
        JOIN invoices i ON i.id = t.invoice_id
        JOIN customers c ON c.id = i.customer_id
        JOIN comments w ON w.id = t.comment_id
        CROSS JOIN LATERAL (
            SELECT coalesce(max(id), 0) AS id FROM comments WHERE invoice_id = i.id AND author_role = 'staff'
        ) s
        WHERE t.workspace_id = $1 AND i.status <> 'draft'
          AND t.comment_id > greatest(i.thread_handled_through, s.id)  -- what the triggers keep, checked again
        ORDER BY t.comment_id DESC
        LIMIT $2
        """,
        workspace_id,
        limit,
        EXCERPT_LENGTH,
    )
    return rows_to(OpenThread, records)


async def mark_thread_handled(conn: Connection, invoice_id: int, through_comment_id: int) -> bool:
    """Never moves backwards, so a stale page cannot reopen what a teammate handled later. Writes (and so
    notifies open pages) only when the mark actually moves."""
    status = await conn.execute(
        "UPDATE invoices SET thread_handled_through = $2 WHERE id = $1 AND thread_handled_through < $2",
        invoice_id,
        through_comment_id,
    )
    return status == "UPDATE 1"


async def select_newest_comment_id(conn: Connection, invoice_id: int) -> int:
    """0 when the thread is empty."""
    value: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM comments WHERE invoice_id = $1", invoice_id)
    return value


async def select_invoice_workspace(conn: Connection, invoice_id: int) -> int | None:
    """For the inbox stream, which hears of invoices by id only."""
    value: int | None = await conn.fetchval("SELECT workspace_id FROM invoices WHERE id = $1", invoice_id)
    return value
