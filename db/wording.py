"""A workspace's own wording of customer-facing texts (text_overrides), and the notice that makes every process
drop what it rendered with the old wording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, rows_to
from db.session import notify

# The change feed's channel, and the payload prefix that says "something every page of this workspace shows
# changed" (web/realtime.py reads both).
CHANGES_CHANNEL = "invoice_changes"
WORKSPACE_PREFIX = "workspace:"


@dataclass(frozen=True, slots=True)
class TextOverride:
    language: str
    text_id: str
    category: str  # the plural category of a counted text, '' for any other
    text: str
    updated_by: str
    updated_at: datetime


COLUMNS = columns(TextOverride)


async def select_overrides(conn: Connection, workspace_id: int) -> list[TextOverride]:
    records = await conn.fetch(
        f"SELECT {COLUMNS} FROM text_overrides WHERE workspace_id = $1 ORDER BY language, text_id, category",
        workspace_id,
    )
    return rows_to(TextOverride, records)


async def replace_overrides(
    conn: Connection, workspace_id: int, language: str, texts: dict[tuple[str, str], str], *, by: str
) -> None:
    """Set the overrides of one text (its plural variants) in one language: `texts` maps (text id, category) to
    the wording; an empty wording removes that override. Cached pages and PDFs of the workspace go stale."""
    async with conn.transaction():
        for (text_id, category), text in texts.items():
            if text:
                await conn.execute(
                    """
                    INSERT INTO text_overrides (workspace_id, language, text_id, category, text, updated_by)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (workspace_id, language, text_id, category)
                    DO UPDATE SET text = EXCLUDED.text, updated_by = EXCLUDED.updated_by, updated_at = now()
                    """,
                    workspace_id, language, text_id, category, text, by,
                )  # fmt: skip
            else:
                await conn.execute(
                    """
                    DELETE FROM text_overrides
                    WHERE workspace_id = $1 AND language = $2 AND text_id = $3 AND category = $4
                    """,
                    workspace_id, language, text_id, category,
                )  # fmt: skip
        await forget_rendered(conn, workspace_id)


async def forget_rendered(conn: Connection, workspace_id: int) -> None:
    """The stored PDFs of the workspace's invoices are dropped (they can never be asked for again: a PDF's cache
    key names its wording), and every process is told to drop the workspace's cached pages (delivered at commit,
    like every notification)."""
    await conn.execute(
        "DELETE FROM pdf_cache WHERE invoice_id IN (SELECT id FROM invoices WHERE workspace_id = $1)", workspace_id
    )
    await forget_pages(conn, workspace_id)


async def forget_pages(conn: Connection, workspace_id: int) -> None:
    """Every process drops the workspace's cached invoice pages at commit (its PDFs stay: they did not change)."""
    await notify(conn, CHANGES_CHANNEL, f"{WORKSPACE_PREFIX}{workspace_id}")
