"""Workspaces: the seller side of every invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.postal import PartyColumns
from db.rows import Connection, columns, row_to, row_to_one


@dataclass(frozen=True, slots=True)
class Workspace(PartyColumns):
    id: int
    slug: str
    legal_name: str
    address: str
    tax_id: str
    email: str
    support_email: str
    default_currency: str
    default_locale: str
    bank_transfer_instructions: str
    default_comment_mode: str
    created_at: datetime
    # The rest of the seller as an e-invoice names it (EN 16931 BG-4, BG-6): see 0023_einvoicing.sql.
    tax_registration: str = ""
    registration_id: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    iban: str = ""
    bic: str = ""
    einvoice_in_pdf: bool = True


COLUMNS = columns(Workspace)


# The settings a billing team edits, each a column of the same name (the e-invoice ones: 0023_einvoicing.sql).
EDITABLE = (
    "legal_name", "address", "tax_id", "email", "support_email", "default_currency", "default_locale",
    "default_comment_mode", "bank_transfer_instructions", "street", "street_extra", "postcode", "city", "country_code",
    "tax_registration", "registration_id", "endpoint_id", "endpoint_scheme", "contact_name", "contact_phone",
    "contact_email", "iban", "bic", "einvoice_in_pdf",
)  # fmt: skip


async def insert_workspace(
    conn: Connection, *, slug: str, legal_name: str, default_currency: str, **settings: str | bool
) -> Workspace:
    """`settings`: any of EDITABLE (the rest keep their defaults)."""
    unknown = settings.keys() - set(EDITABLE)
    if unknown:
        raise TypeError(f"not workspace settings: {sorted(unknown)}")
    names = ["slug", "legal_name", "default_currency", *settings]
    placeholders = ", ".join(f"${index}" for index in range(1, len(names) + 1))
    record = await conn.fetchrow(
        f"INSERT INTO workspaces ({', '.join(names)}) VALUES ({placeholders}) RETURNING {COLUMNS}",
        slug, legal_name, default_currency, *settings.values(),
    )  # fmt: skip
    return row_to_one(Workspace, record)


async def select_workspace(conn: Connection, workspace_id: int) -> Workspace | None:
    return row_to(Workspace, await conn.fetchrow(f"SELECT {COLUMNS} FROM workspaces WHERE id = $1", workspace_id))


async def select_workspace_by_slug(conn: Connection, slug: str) -> Workspace | None:
    return row_to(Workspace, await conn.fetchrow(f"SELECT {COLUMNS} FROM workspaces WHERE slug = $1", slug))


async def update_workspace_settings(conn: Connection, workspace_id: int, **settings: str | bool) -> Workspace | None:
    """Every editable setting (EDITABLE, all of them) in one statement, so a save is all or nothing. Issued invoices
    keep their seller snapshot and every invoice keeps the comment mode it was created with; only what comes later
    changes. Saved by a person, the address parts are reviewed."""
    if set(settings) != set(EDITABLE):
        raise TypeError(f"every workspace setting is saved at once: {sorted(set(EDITABLE) ^ set(settings))}")
    assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(EDITABLE, start=2))
    record = await conn.fetchrow(
        f"""
        UPDATE workspaces SET {assignments}, address_needs_review = false WHERE id = $1
        RETURNING {COLUMNS}
        """,
        workspace_id, *(settings[name] for name in EDITABLE),
    )  # fmt: skip
    return row_to(Workspace, record)
