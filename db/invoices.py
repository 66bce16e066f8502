"""Invoices and their lines: drafts, issuing (number + snapshots), status changes. Every change bumps `version`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from db.rows import columns, row_to, rows_to


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    workspace_id: int
    customer_id: int
    number: str | None
    status: str
    currency: str
    locale: str
    issue_date: date | None
    due_date: date | None
    notes: str
    payment_terms: str
    seller_snapshot: dict[str, Any] | None
    buyer_snapshot: dict[str, Any] | None
    version: int
    issued_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str
    # Who may write in the comment thread (customer / otp / closed), whether writers also need TOTP, and
    # whether the thread is shown at all.
    comment_mode: str
    comments_require_totp: bool
    comments_enabled: bool
    # Online card payment offered on the portal (the console can switch it off: bank transfer only).
    payments_enabled: bool
    # The support inbox lists the thread again only when a customer writes after this comment id.
    thread_handled_through: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    id: int
    invoice_id: int
    position: int
    description: str
    quantity: Decimal
    unit_price: int
    tax_rate: Decimal


@dataclass(frozen=True, slots=True)
class NewLine:
    description: str
    quantity: Decimal
    unit_price: int
    tax_rate: Decimal


COLUMNS = columns(Invoice)
LINE_COLUMNS = columns(InvoiceLine)


async def insert_invoice(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    customer_id: int,
    currency: str,
    locale: str,
    due_date: date | None = None,
    notes: str = "",
    payment_terms: str = "",
    import_key: str | None = None,
) -> Invoice:
    record = await conn.fetchrow(
        f"""
        INSERT INTO invoices (workspace_id, customer_id, currency, locale, due_date, notes, payment_terms, import_key,
                              comment_mode)
        -- The workspace's comment mode is the default of each new invoice; later changes of it leave issued ones be.
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT default_comment_mode FROM workspaces WHERE id = $1))
        RETURNING {COLUMNS}
        """,
        workspace_id, customer_id, currency, locale, due_date, notes, payment_terms, import_key,
    )  # fmt: skip
    return row_to(Invoice, record)  # type: ignore[return-value]


async def insert_invoice_lines(conn: asyncpg.Connection, invoice_id: int, lines: list[NewLine]) -> None:
    """Append lines after the existing ones, in one statement, and bump the invoice version."""
    async with conn.transaction():
        start = await conn.fetchval(
            "SELECT coalesce(max(position) + 1, 0) FROM invoice_lines WHERE invoice_id = $1", invoice_id
        )
        await conn.executemany(
            """
            INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, tax_rate)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [
                (invoice_id, start + index, line.description, line.quantity, line.unit_price, line.tax_rate)
                for index, line in enumerate(lines)
            ],
        )
        await _touch(conn, invoice_id)


async def select_invoice(conn: asyncpg.Connection, invoice_id: int) -> Invoice | None:
    return row_to(Invoice, await conn.fetchrow(f"SELECT {COLUMNS} FROM invoices WHERE id = $1", invoice_id))


async def select_invoice_by_import_key(conn: asyncpg.Connection, workspace_id: int, key: str) -> Invoice | None:
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM invoices WHERE workspace_id = $1 AND import_key = $2", workspace_id, key
    )
    return row_to(Invoice, record)


async def select_invoice_lines(conn: asyncpg.Connection, invoice_id: int) -> list[InvoiceLine]:
    records = await conn.fetch(
        f"SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = $1 ORDER BY position", invoice_id
    )
    return rows_to(InvoiceLine, records)


async def issue_invoice(conn: asyncpg.Connection, invoice_id: int, *, issue_date: date, due_date: date) -> Invoice:
    """Draft -> open: take the next gapless number for the workspace and year, and snapshot seller and buyer.

    The counter row stays locked until the caller's transaction commits, so concurrent issues queue and a
    rolled-back issue gives its number back.
    """
    async with conn.transaction():
        draft = await conn.fetchrow(
            "SELECT workspace_id, customer_id FROM invoices WHERE id = $1 AND status = 'draft' FOR UPDATE", invoice_id
        )
        if draft is None:
            raise ValueError(f"invoice {invoice_id} is not a draft")
        sequence = await conn.fetchval(
            """
            INSERT INTO invoice_number_counters AS c (workspace_id, year, last_value) VALUES ($1, $2, 1)
            ON CONFLICT (workspace_id, year) DO UPDATE SET last_value = c.last_value + 1
            RETURNING last_value
            """,
            draft["workspace_id"],
            issue_date.year,
        )
        seller = await conn.fetchrow(
            "SELECT legal_name, address, tax_id, email, bank_transfer_instructions FROM workspaces WHERE id = $1",
            draft["workspace_id"],
        )
        buyer = await conn.fetchrow(
            "SELECT name AS legal_name, billing_address AS address, tax_id, email FROM customers WHERE id = $1",
            draft["customer_id"],
        )
        record = await conn.fetchrow(
            f"""
            UPDATE invoices
            SET status = 'open', number = $2, issue_date = $3, due_date = $4, issued_at = now(),
                seller_snapshot = $5::jsonb, buyer_snapshot = $6::jsonb, version = version + 1, updated_at = now()
            WHERE id = $1
            RETURNING {COLUMNS}
            """,
            invoice_id,
            f"INV-{issue_date.year}-{sequence:04d}",
            issue_date,
            due_date,
            dict(seller),  # type: ignore[arg-type]
            dict(buyer),  # type: ignore[arg-type]
        )
    return row_to(Invoice, record)  # type: ignore[return-value]


async def void_invoice(conn: asyncpg.Connection, invoice_id: int, reason: str) -> Invoice | None:
    record = await conn.fetchrow(
        f"""
        UPDATE invoices SET status = 'void', voided_at = now(), void_reason = $2, version = version + 1,
                            updated_at = now()
        WHERE id = $1 AND status IN ('open', 'uncollectible')
        RETURNING {COLUMNS}
        """,
        invoice_id,
        reason,
    )
    return row_to(Invoice, record)


async def select_invoice_for_update(conn: asyncpg.Connection, invoice_id: int) -> Invoice | None:
    """Lock the invoice row for the caller's transaction: settlements of one invoice queue behind each other."""
    return row_to(Invoice, await conn.fetchrow(f"SELECT {COLUMNS} FROM invoices WHERE id = $1 FOR UPDATE", invoice_id))


async def set_invoice_paid(conn: asyncpg.Connection, invoice_id: int, paid: bool) -> None:
    """Open <-> paid as payments and refunds move the balance (a refund can make a paid invoice due again)."""
    if paid:
        sql = (
            "UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = $1 AND status IN ('open', 'uncollectible')"
        )
    else:
        sql = "UPDATE invoices SET status = 'open', paid_at = NULL WHERE id = $1 AND status = 'paid'"
    await conn.execute(sql, invoice_id)
    await _touch(conn, invoice_id)


async def _touch(conn: asyncpg.Connection, invoice_id: int) -> None:
    await conn.execute("UPDATE invoices SET version = version + 1, updated_at = now() WHERE id = $1", invoice_id)


async def set_comment_settings(
    conn: asyncpg.Connection, invoice_id: int, *, mode: str, require_totp: bool, enabled: bool = True
) -> Invoice | None:
    """Who may write in the thread. Not a document change, so the version stays; the trigger still notifies."""
    record = await conn.fetchrow(
        f"""
        UPDATE invoices SET comment_mode = $2, comments_require_totp = $3, comments_enabled = $4, updated_at = now()
        WHERE id = $1
        RETURNING {COLUMNS}
        """,
        invoice_id,
        mode,
        require_totp,
        enabled,
    )
    return row_to(Invoice, record)
