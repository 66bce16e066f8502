"""Customers: the buyer side of an invoice, always inside one workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.postal import PartyColumns, PostalAddress
from db.rows import Arguments, Connection, columns, row_to, row_to_one, rows_to


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


# Every word of the name, the e-mail address (whole and in parts) and the tax id. Identical to the expression of
# the index customers_search_words (migration 0024), or the planner cannot use it.
SEARCH_WORDS = "to_tsvector('simple', name || ' ' || email || ' ' || tax_id || ' ' || translate(email, '@.', '  '))"


def search_query(param: str) -> str:
    """What was typed, split by the same parser, each word a prefix that must match ("acme gm" finds "Acme
    GmbH"). Callers search only when the text has a letter or digit, so the query is never empty."""
    return f"""(SELECT string_agg(quote_literal(lexeme) || ':*', ' & ')::tsquery
               FROM unnest(to_tsvector('simple', {param}::text)))"""


def is_searchable(text: str) -> bool:
    return any(character.isalnum() for character in text)


async def select_customers(
    conn: Connection, workspace_id: int, *, search: str = "", after: int | None = None, limit: int = 200
) -> list[Customer]:
    """The workspace's customers by name, a page at a time: `after` is the last customer of the previous page
    (keyset, so a page deep in the list costs what the first does). `search` matches the start of any word of
    the name, the e-mail address or the tax id, any case; text with no letter or digit finds nothing."""
    if search and not is_searchable(search):
        return []
    arguments = Arguments(workspace_id, limit)
    conditions = ["workspace_id = $1"]
    if is_searchable(search):
        conditions.append(f"{SEARCH_WORDS} @@ {search_query(arguments.add(search))}")
    if after is not None:
        last = arguments.add(after)
        conditions.append(
            f"(lower(name), id) > (SELECT lower(name), id FROM customers WHERE workspace_id = $1 AND id = {last})"
        )
    records = await conn.fetch(
        f"SELECT {COLUMNS} FROM customers WHERE {' AND '.join(conditions)} ORDER BY lower(name), id LIMIT $2",
        *arguments.values,
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
