"""Capability links: 192 random bits from `secrets`, stored with their SHA-256 for constant-shape lookups."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import asyncpg

from db.links import PortalLink, insert_portal_link

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """SHA-256 of a random token. Links, comment writer sessions and console sessions are all stored this way:
    only the hash is kept, and lookups by it say nothing about the token through their timing."""
    return hashlib.sha256(token.encode()).digest()


async def create_link(conn: asyncpg.Connection, invoice_id: int, *, expires_at: datetime | None = None) -> PortalLink:
    token = new_token()
    return await insert_portal_link(
        conn, invoice_id=invoice_id, token=token, token_hash=token_hash(token), expires_at=expires_at
    )
