"""Workspaces: the seller side of every invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to, row_to_one


@dataclass(frozen=True, slots=True)
class Workspace:
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


COLUMNS = columns(Workspace)


async def insert_workspace(
    conn: Connection,
    *,
    slug: str,
    legal_name: str,
    default_currency: str,
    address: str = "",
    tax_id: str = "",
    email: str = "",
    support_email: str = "",
    default_locale: str = "en",
    bank_transfer_instructions: str = "",
    default_comment_mode: str = "customer",
) -> Workspace:
    record = await conn.fetchrow(
        f"""
        INSERT INTO workspaces (slug, legal_name, address, tax_id, email, support_email, default_currency,
                                default_locale, bank_transfer_instructions, default_comment_mode)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING {COLUMNS}
        """,
        slug, legal_name, address, tax_id, email, support_email, default_currency, default_locale,
        bank_transfer_instructions, default_comment_mode,
    )  # fmt: skip
    return row_to_one(Workspace, record)


async def select_workspace(conn: Connection, workspace_id: int) -> Workspace | None:
    return row_to(Workspace, await conn.fetchrow(f"SELECT {COLUMNS} FROM workspaces WHERE id = $1", workspace_id))


async def select_workspace_by_slug(conn: Connection, slug: str) -> Workspace | None:
    return row_to(Workspace, await conn.fetchrow(f"SELECT {COLUMNS} FROM workspaces WHERE slug = $1", slug))


async def update_workspace_settings(
    conn: Connection,
    workspace_id: int,
    *,
    legal_name: str,
    address: str,
    tax_id: str,
    email: str,
    support_email: str,
    default_currency: str,
    default_locale: str,
    default_comment_mode: str,
    bank_transfer_instructions: str,
) -> Workspace | None:
    """Every editable setting in one statement, so a save is all or nothing. Issued invoices keep their seller
    snapshot and every invoice keeps the comment mode it was created with; only what comes later changes."""
    record = await conn.fetchrow(
        f"""
        UPDATE workspaces
           SET legal_name = $2, address = $3, tax_id = $4, email = $5, support_email = $6, default_currency = $7,
               default_locale = $8, default_comment_mode = $9, bank_transfer_instructions = $10
         WHERE id = $1
        RETURNING {COLUMNS}
        """,
        workspace_id, legal_name, address, tax_id, email, support_email, default_currency, default_locale,
        default_comment_mode, bank_transfer_instructions,
    )  # fmt: skip
    return row_to(Workspace, record)
