"""The activity log of an invoice: what happened to it and when (viewed, PDF downloaded, payments, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.rows import Connection, columns, rows_to

VIEWED = "viewed"
PDF_DOWNLOADED = "pdf_downloaded"
# Written by a trigger on payments (migration 0008), never by application code, so no write path can forget them.
PAYMENT_ATTEMPTED = "payment_attempted"
PAYMENT_SUCCEEDED = "payment_succeeded"
PAYMENT_FAILED = "payment_failed"
PAYMENT_REFUNDED = "payment_refunded"
PAYMENT_CANCELED = "payment_canceled"
PAYMENT_KINDS = (PAYMENT_ATTEMPTED, PAYMENT_SUCCEEDED, PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_CANCELED)


@dataclass(frozen=True, slots=True)
class Activity:
    id: int
    invoice_id: int
    kind: str
    detail: dict[str, Any]
    occurred_at: datetime


COLUMNS = columns(Activity)


async def insert_activity(conn: Connection, invoice_id: int, kind: str, detail: dict[str, Any] | None = None) -> None:
    await conn.execute(
        "INSERT INTO activity (invoice_id, kind, detail) VALUES ($1, $2, $3)", invoice_id, kind, detail or {}
    )


async def select_activity(conn: Connection, invoice_id: int, limit: int = 200) -> list[Activity]:
    records = await conn.fetch(
        f"SELECT {COLUMNS} FROM activity WHERE invoice_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
        invoice_id,
        limit,
    )
    return rows_to(Activity, records)


async def insert_view_once(conn: Connection, invoice_id: int, window_minutes: int = 30) -> bool:
    """Record a customer view unless one was recorded in the last `window_minutes` (reloads are one visit)."""
    status = await conn.execute(
        """
        INSERT INTO activity (invoice_id, kind)
        SELECT $1, $3::text
        WHERE NOT EXISTS (
            SELECT 1 FROM activity
            WHERE invoice_id = $1 AND kind = $3 AND occurred_at > now() - make_interval(mins => $2)
        )
        """,
        invoice_id,
        window_minutes,
        VIEWED,
    )
    return status == "INSERT 0 1"
