"""Customers: the buyer side of an invoice, always inside one workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to, row_to_one, rows_to


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
    conn: Connection,
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
    return row_to_one(Customer, record)


async def select_customer(conn: Connection, workspace_id: int, customer_id: int) -> Customer | None:
    """Scoped by workspace: a customer id from another workspace finds nothing."""
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM customers WHERE workspace_id = $1 AND id = $2", workspace_id, customer_id
    )
    return row_to(Customer, record)


async def select_customers(
    conn: Connection, workspace_id: int, *, search: str = "", limit: int = 200
) -> list[Customer]:
    """The workspace's customers by name; `search` matches name, e-mail or tax id anywhere (case-insensitive)."""
    pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    records = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM customers
        WHERE workspace_id = $1 AND ($2 = '%%' OR name ILIKE $2 OR email ILIKE $2 OR tax_id ILIKE $2)
        ORDER BY lower(name), id LIMIT $3
        """,
        workspace_id,
        pattern,
        limit,
    )
    return rows_to(Customer, records)


async def update_customer(
    conn: Connection,
    workspace_id: int,
    customer_id: int,
    *,
    name: str,
    email: str,
    billing_address: str,
    tax_id: str,
    locale: str,
) -> Customer | None:
    """Issued invoices keep their snapshot of the buyer; drafts show the change."""
    record = await conn.fetchrow(
        f"""
        UPDATE customers SET name = $3, email = $4, billing_address = $5, tax_id = $6, locale = $7
        WHERE workspace_id = $1 AND id = $2
        RETURNING {COLUMNS}
        """,
        workspace_id, customer_id, name, email, billing_address, tax_id, locale,
    )  # fmt: skip
    return row_to(Customer, record)
