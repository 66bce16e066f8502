"""Customers: the buyer side of an invoice, always inside one workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.postal import PartyColumns, PostalAddress
from db.rows import Connection, columns, row_to, row_to_one, rows_to


@dataclass(frozen=True, slots=True)
class Customer(PartyColumns):
    id: int
    workspace_id: int
    name: str
    email: str
    billing_address: str
    tax_id: str
    locale: str
    created_at: datetime
    buyer_reference: str = ""  # BT-10 (the Leitweg-ID of a German public buyer)


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
    postal: PostalAddress | None = None,
    endpoint_id: str = "",
    endpoint_scheme: str = "",
    buyer_reference: str = "",
) -> Customer:
    """`billing_address`: the printed text; `postal`: the same address in parts (what an e-invoice needs)."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO customers (workspace_id, name, email, billing_address, tax_id, locale, street, street_extra,
                               postcode, city, country_code, endpoint_id, endpoint_scheme, buyer_reference)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        RETURNING {COLUMNS}
        """,
        workspace_id, name, email, billing_address, tax_id, locale, *(postal or PostalAddress()).values(),
        endpoint_id, endpoint_scheme, buyer_reference,
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
    postal: PostalAddress,
    endpoint_id: str,
    endpoint_scheme: str,
    buyer_reference: str,
) -> Customer | None:
    """Issued invoices keep their snapshot of the buyer; drafts show the change. Saved by a person, the address
    parts are reviewed."""
    record = await conn.fetchrow(
        f"""
        UPDATE customers SET name = $3, email = $4, billing_address = $5, tax_id = $6, locale = $7, street = $8,
                             street_extra = $9, postcode = $10, city = $11, country_code = $12, endpoint_id = $13,
                             endpoint_scheme = $14, buyer_reference = $15, address_needs_review = false
        WHERE workspace_id = $1 AND id = $2
        RETURNING {COLUMNS}
        """,
        workspace_id, customer_id, name, email, billing_address, tax_id, locale, *postal.values(), endpoint_id,
        endpoint_scheme, buyer_reference,
    )  # fmt: skip
    return row_to(Customer, record)
