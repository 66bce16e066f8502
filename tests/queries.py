"""Reads only the tests need: what a row looks like after the application wrote it. The application itself never
reads these this way, so they live here rather than in db/."""

from __future__ import annotations

import asyncpg

from db.invoices import COLUMNS as INVOICE_COLUMNS
from db.invoices import Invoice, select_invoice_by_import_key
from db.outbox import COLUMNS as OUTBOX_COLUMNS
from db.outbox import OutgoingMail
from db.payments import COLUMNS as PAYMENT_COLUMNS
from db.payments import Payment
from db.rows import row_to, rows_to
from db.workspaces import select_workspace_by_slug


async def select_invoice(conn: asyncpg.Connection, invoice_id: int) -> Invoice | None:
    return row_to(Invoice, await conn.fetchrow(f"SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1", invoice_id))


async def select_payment_by_intent(conn: asyncpg.Connection, intent_id: str) -> Payment | None:
    record = await conn.fetchrow(
        f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE stripe_payment_intent_id = $1", intent_id
    )
    return row_to(Payment, record)


async def select_outbox(conn: asyncpg.Connection, workspace_id: int, limit: int = 100) -> list[OutgoingMail]:
    records = await conn.fetch(
        f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2", workspace_id, limit
    )
    return rows_to(OutgoingMail, records)


async def demo_invoice_id(conn: asyncpg.Connection, label: str) -> int:
    """The id of a demo invoice (web/dev/demo.py) by its label: `open`, `partial`, `jpy`…"""
    workspace = await select_workspace_by_slug(conn, "demo")
    invoice = await select_invoice_by_import_key(conn, workspace.id, f"demo:{label}") if workspace else None
    assert invoice is not None, f"no demo invoice {label}"
    return invoice.id


async def applied_versions(conn: asyncpg.Connection) -> list[int]:
    return [row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
