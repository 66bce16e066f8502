"""The mail outbox: every e-mail is written here inside the transaction that causes it, then delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to

REDACTED = "[redacted after delivery: it held a one-time code]"


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    id: int
    workspace_id: int
    invoice_id: int | None
    kind: str
    recipient: str
    subject: str
    body: str
    sensitive: bool
    created_at: datetime
    sent_at: datetime | None
    last_error: str


COLUMNS = columns(OutgoingMail)


async def insert_mail(
    conn: Connection,
    *,
    workspace_id: int,
    invoice_id: int | None,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    sensitive: bool = False,
) -> int:
    value: int = await conn.fetchval(
        """
        INSERT INTO outbox (workspace_id, invoice_id, kind, recipient, subject, body, sensitive)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING id
        """,
        workspace_id, invoice_id, kind, recipient, subject, body, sensitive,
    )  # fmt: skip
    return value


async def select_mail(conn: Connection, mail_id: int) -> OutgoingMail | None:
    return row_to(OutgoingMail, await conn.fetchrow(f"SELECT {COLUMNS} FROM outbox WHERE id = $1", mail_id))


async def mark_sent(conn: Connection, mail_id: int) -> None:
    await conn.execute(
        """
        UPDATE outbox SET sent_at = now(), last_error = '',
                          body = CASE WHEN sensitive THEN $2 ELSE body END
        WHERE id = $1
        """,
        mail_id,
        REDACTED,
    )


async def mark_failed(conn: Connection, mail_id: int, error: str) -> None:
    await conn.execute("UPDATE outbox SET last_error = $2 WHERE id = $1", mail_id, error[:500])
