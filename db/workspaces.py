"""Workspaces: the seller side of every invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.rows import columns, row_to


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
    conn: asyncpg.Connection,
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
    return row_to(Workspace, record)  # type: ignore[return-value]


async def select_workspace(conn: asyncpg.Connection, workspace_id: int) -> Workspace | None:
    return row_to(Workspace, await conn.fetchrow(f"SELECT {COLUMNS} FROM workspaces WHERE id = $1", workspace_id))


async def select_workspace_by_slug(conn: asyncpg.Connection, slug: str) -> Workspace | None:
    return row_to(Workspace, await conn.fetchrow(f"SELECT {COLUMNS} FROM workspaces WHERE slug = $1", slug))
