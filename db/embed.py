"""The embed's settings and sessions (migration 0020). Secrets arrive sealed (web/secret_box.py) and leave sealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns


@dataclass(frozen=True, slots=True)
class EmbedSettings:
    workspace_id: int
    secret: str | None  # sealed
    secret_last4: str
    previous_secret: str | None  # sealed; accepted until previous_until
    previous_until: datetime | None
    allowed_origins: list[str]
    rotated_at: datetime | None
    rotated_by: str


COLUMNS = columns(EmbedSettings)


async def select_embed_settings(conn: Connection, workspace_id: int) -> EmbedSettings | None:
    record = await conn.fetchrow(f"SELECT {COLUMNS} FROM embed_settings WHERE workspace_id = $1", workspace_id)
    if record is None:
        return None
    return EmbedSettings(**{**dict(record), "allowed_origins": list(record["allowed_origins"])})


async def rotate_embed_secret(
    conn: Connection, workspace_id: int, *, sealed: str, last4: str, now: datetime, grace_until: datetime, by: str
) -> None:
    """The new secret takes over; the one it replaces is still accepted until `grace_until` (hosts redeploy)."""
    await conn.execute(
        """
        INSERT INTO embed_settings (workspace_id, secret, secret_last4, rotated_at, rotated_by)
        VALUES ($1, $2, $3, $4, $6)
        ON CONFLICT (workspace_id) DO UPDATE
        SET previous_secret = embed_settings.secret,
            previous_until = CASE WHEN embed_settings.secret IS NULL THEN NULL ELSE $5::timestamptz END,
            secret = excluded.secret, secret_last4 = excluded.secret_last4, rotated_at = excluded.rotated_at,
            rotated_by = excluded.rotated_by
        """,
        workspace_id, sealed, last4, now, grace_until, by,
    )  # fmt: skip


async def save_allowed_origins(conn: Connection, workspace_id: int, origins: list[str]) -> None:
    await conn.execute(
        """
        INSERT INTO embed_settings (workspace_id, allowed_origins) VALUES ($1, $2)
        ON CONFLICT (workspace_id) DO UPDATE SET allowed_origins = excluded.allowed_origins
        """,
        workspace_id, origins,
    )  # fmt: skip


async def select_email_of_stripe_customer(conn: Connection, workspace_id: int, stripe_customer_id: str) -> str | None:
    email: str | None = await conn.fetchval(
        """
        SELECT lower(email) FROM customers
        WHERE workspace_id = $1 AND stripe_customer_id = $2 AND email <> ''
        """,
        workspace_id, stripe_customer_id,
    )  # fmt: skip
    return email


async def insert_embed_session(
    conn: Connection, *, token_hash: bytes, workspace_id: int, email: str, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        """
        INSERT INTO embed_sessions (token_hash, workspace_id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
        """,
        token_hash, workspace_id, email, now, expires_at,
    )  # fmt: skip
    # Expired ones are of no use to anybody: the table holds only the last day's.
    await conn.execute("DELETE FROM embed_sessions WHERE expires_at < $1::timestamptz - interval '1 day'", now)


async def select_embed_session_email(
    conn: Connection, token_hash: bytes, workspace_id: int, now: datetime
) -> str | None:
    email: str | None = await conn.fetchval(
        "SELECT email FROM embed_sessions WHERE token_hash = $1 AND workspace_id = $2 AND expires_at > $3",
        token_hash, workspace_id, now,
    )  # fmt: skip
    return email
