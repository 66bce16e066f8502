"""What the console can tell about the Stripe connection from our own tables: the newest webhook event applied."""

from __future__ import annotations

from datetime import datetime

from db.rows import Connection


async def select_last_webhook(conn: Connection) -> tuple[str, datetime] | None:
    """Type and arrival time of the newest verified event. Global: one Stripe account serves every workspace."""
    record = await conn.fetchrow("SELECT type, received_at FROM stripe_events ORDER BY received_at DESC, id LIMIT 1")
    return None if record is None else (record["type"], record["received_at"])
