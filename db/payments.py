"""Payments against an invoice. Amount paid is always computed: succeeded payments less their refunds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.rows import columns, row_to, rows_to


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    invoice_id: int
    amount: int
    currency: str
    method: str
    status: str
    amount_refunded: int
    card_brand: str
    card_last4: str
    reference: str
    created_at: datetime
    succeeded_at: datetime | None


COLUMNS = columns(Payment)


async def insert_settled_payment(
    conn: asyncpg.Connection, *, invoice_id: int, amount: int, currency: str, method: str, reference: str = ""
) -> Payment:
    """A payment that has already arrived (bank transfer recorded by the billing team), and bump the version."""
    async with conn.transaction():
        record = await conn.fetchrow(
            f"""
            INSERT INTO payments (invoice_id, amount, currency, method, status, reference, succeeded_at)
            VALUES ($1, $2, $3, $4, 'succeeded', $5, now())
            RETURNING {COLUMNS}
            """,
            invoice_id, amount, currency, method, reference,
        )  # fmt: skip
        await conn.execute("UPDATE invoices SET version = version + 1, updated_at = now() WHERE id = $1", invoice_id)
    return row_to(Payment, record)  # type: ignore[return-value]


async def select_succeeded_payments(conn: asyncpg.Connection, invoice_id: int) -> list[Payment]:
    records = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM payments WHERE invoice_id = $1 AND status = 'succeeded'
        ORDER BY succeeded_at, id
        """,
        invoice_id,
    )
    return rows_to(Payment, records)


def amount_paid(payments: list[Payment]) -> int:
    return sum(p.amount - p.amount_refunded for p in payments if p.status == "succeeded")
