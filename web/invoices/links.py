"""Capability links: 192 random bits from `secrets`, stored with their SHA-256 for constant-shape lookups."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from db.links import PortalLink, insert_portal_link, revoke_link, select_links_for_invoice
from db.rows import Connection

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """SHA-256 of a random token. Links, comment writer sessions and console sessions are all stored this way:
    only the hash is kept, and lookups by it say nothing about the token through their timing."""
    return hashlib.sha256(token.encode()).digest()


async def create_link(conn: Connection, invoice_id: int, *, expires_at: datetime | None = None) -> PortalLink:
    token = new_token()
    return await insert_portal_link(
        conn, invoice_id=invoice_id, token=token, token_hash=token_hash(token), expires_at=expires_at
    )


def newest_live(links: list[PortalLink], now: datetime) -> PortalLink | None:
    """The newest of `links` (oldest first, as stored) that still opens the invoice."""
    for link in reversed(links):
        if link.revoked_at is None and (link.expires_at is None or link.expires_at > now):
            return link
    return None


async def live_link(conn: Connection, invoice_id: int, now: datetime) -> PortalLink | None:
    return newest_live(await select_links_for_invoice(conn, invoice_id), now)


async def replace_links(conn: Connection, invoice_id: int) -> PortalLink:
    """A new link; every older one stops working (it then shows Invoice Not Found)."""
    for link in await select_links_for_invoice(conn, invoice_id):
        if link.revoked_at is None:
            await revoke_link(conn, link.id)
    return await create_link(conn, invoice_id)


async def live_or_new_link(conn: Connection, invoice_id: int, now: datetime, *, days: int = 30) -> PortalLink:
    """The invoice's live link, else a new one lasting `days` (a customer opening it from their history)."""
    return await live_link(conn, invoice_id, now) or await create_link(
        conn, invoice_id, expires_at=now + timedelta(days=days)
    )
