"""Customers: the buyer side of an invoice, always inside one workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.rows import columns, row_to


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    workspace_id: int
    name: str
    email: str
    billing_address: str
    tax_id: str
    locale: str
    created_at: datetime


COLUMNS = columns(Customer)


async def insert_customer(
    conn: asyncpg.Connection,
    *,
    workspace_id: int,
    name: str,
    email: str = "",
    billing_address: str = "",
    tax_id: str = "",
    locale: str = "en",
) -> Customer:
    record = await conn.fetchrow(
        f"""
        INSERT INTO customers (workspace_id, name, email, billing_address, tax_id, locale)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING {COLUMNS}
        """,
        workspace_id, name, email, billing_address, tax_id, locale,
    )  # fmt: skip
    return row_to(Customer, record)  # type: ignore[return-value]


async def select_customer(conn: asyncpg.Connection, workspace_id: int, customer_id: int) -> Customer | None:
    """Scoped by workspace: a customer id from another workspace finds nothing."""
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM customers WHERE workspace_id = $1 AND id = $2", workspace_id, customer_id
    )
    return row_to(Customer, record)
