"""Logos: content-addressed image bytes (the key is their SHA-256, hex) and the workspace's current logo."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to


@dataclass(frozen=True, slots=True)
class Logo:
    sha256: str
    media_type: str
    width: int
    height: int
    data: bytes
    created_at: datetime


COLUMNS = columns(Logo)


async def insert_logo(conn: Connection, *, media_type: str, width: int, height: int, data: bytes) -> str:
    """Store the bytes under their SHA-256 and return it (hex). The same bytes uploaded twice are one row."""
    sha = hashlib.sha256(data).hexdigest()
    await conn.execute(
        """
        INSERT INTO logos (sha256, media_type, width, height, data) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (sha256) DO NOTHING
        """,
        sha,
        media_type,
        width,
        height,
        data,
    )
    return sha


async def select_logo(conn: Connection, sha: str) -> Logo | None:
    return row_to(Logo, await conn.fetchrow(f"SELECT {COLUMNS} FROM logos WHERE sha256 = $1", sha))


async def set_workspace_logo(conn: Connection, workspace_id: int, sha: str | None) -> bool:
    """Point the workspace at a stored logo (None removes it); False when there is no such workspace.
    Invoices already issued keep the logo in their snapshot."""
    updated = await conn.fetchval("UPDATE workspaces SET logo_sha = $2 WHERE id = $1 RETURNING id", workspace_id, sha)
    return updated is not None


async def select_workspace_logo_sha(conn: Connection, workspace_id: int) -> str | None:
    """The logo a draft shows and issuing copies. Read on its own so the Workspace row stays as it is: drafts
    are its only live reader; issued invoices read it from their seller snapshot."""
    value: str | None = await conn.fetchval("SELECT logo_sha FROM workspaces WHERE id = $1", workspace_id)
    return value
