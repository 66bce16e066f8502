"""Comments on an invoice's thread. Inserts of one invoice are serialised, so ids grow in commit order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to, row_to_one, rows_to

# Enough for any real thread; a page never renders an unbounded list.
THREAD_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    invoice_id: int
    author_role: str
    author_name: str
    author_email: str
    body: str
    client_key: str
    created_at: datetime


COLUMNS = columns(Comment)


async def insert_comment(
    conn: Connection,
    *,
    invoice_id: int,
    author_role: str,
    author_name: str,
    author_email: str,
    body: str,
    client_key: str,
) -> tuple[Comment, bool]:
    """The comment, and whether this call wrote it (False: the same client key already had).

    The invoice row is locked first: two comments of one invoice can then not commit out of id order, which is
    what lets readers ask for "everything after id N" without ever missing one.
    """
    async with conn.transaction():
        await lock_thread(conn, invoice_id)
        record = await conn.fetchrow(
            f"""
            INSERT INTO comments (invoice_id, author_role, author_name, author_email, body, client_key)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (invoice_id, client_key) DO NOTHING
            RETURNING {COLUMNS}
            """,
            invoice_id, author_role, author_name, author_email, body, client_key,
        )  # fmt: skip
        if record is not None:
            return row_to_one(Comment, record), True
        existing = await select_comment_by_client_key(conn, invoice_id, client_key)
        assert existing is not None  # the conflict that skipped the insert is this row
        return existing, False


async def lock_thread(conn: Connection, invoice_id: int) -> None:
    """Lock the invoice's thread until the transaction ends: comments of one invoice then commit in id order
    (readers ask for "everything after id N"), and a count taken under it is not overtaken by a parallel post."""
    await conn.execute("SELECT 1 FROM invoices WHERE id = $1 FOR NO KEY UPDATE", invoice_id)


async def select_comment_by_client_key(conn: Connection, invoice_id: int, client_key: str) -> Comment | None:
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM comments WHERE invoice_id = $1 AND client_key = $2", invoice_id, client_key
    )
    return row_to(Comment, record)


async def select_comments(conn: Connection, invoice_id: int, after: int = 0) -> list[Comment]:
    """Oldest first; the newest THREAD_LIMIT when the thread is longer."""
    records = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM (
            SELECT {COLUMNS} FROM comments WHERE invoice_id = $1 AND id > $2 ORDER BY id DESC LIMIT $3
        ) newest ORDER BY id
        """,
        invoice_id,
        after,
        THREAD_LIMIT,
    )
    return rows_to(Comment, records)


async def count_recent_comments(conn: Connection, invoice_id: int, email: str, seconds: int) -> int:
    value: int = await conn.fetchval(
        """
        SELECT count(*) FROM comments
        WHERE invoice_id = $1 AND author_email = $2 AND created_at > now() - make_interval(secs => $3)
        """,
        invoice_id,
        email,
        seconds,
    )
    return value


async def select_thread_addresses(conn: Connection, invoice_id: int) -> list[str]:
    """Verified addresses that wrote in the thread: they hear of the billing team's replies."""
    records = await conn.fetch(
        "SELECT DISTINCT author_email FROM comments WHERE invoice_id = $1 AND author_role <> 'staff'"
        " AND author_email <> ''",
        invoice_id,
    )
    return [record["author_email"] for record in records]
