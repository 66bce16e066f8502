"""Exchanging a host's signed identity for a short-lived embed session, and finding it again from its token.

The token lives in the frame's memory and comes back in the X-Embed-Token header of each request the frame makes:
no cookie is needed, so the embed works where browsers block third-party cookies (Safari, Firefox, Chromium's
test mode). A refusal never says why (wrong, expired, other workspace, other customer all answer alike).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.embed import (
    insert_embed_session,
    select_email_of_stripe_customer,
    select_embed_session_email,
    select_embed_settings,
)
from db.rows import Connection
from web.embed.signing import accepted_secrets, expired, hash_matches
from web.invoices.links import token_hash
from web.mail import is_address
from web.secret_box import SecretBox

SESSION_TTL = timedelta(hours=1)
HEADER = "X-Embed-Token"
_MAX = 320


class NotAuthorised(Exception):
    """The signed identity does not open this workspace's billing history."""


@dataclass(frozen=True, slots=True)
class SignedIdentity:
    email: str = ""
    customer: str = ""  # a Stripe customer id
    expires: str = ""
    hash: str = ""


async def open_embed_session(
    conn: Connection, box: SecretBox, workspace_id: int, signed: SignedIdentity, now: datetime
) -> tuple[str, datetime]:
    """The new session's token and expiry. Raises NotAuthorised."""
    identity = signed.email or signed.customer
    if bool(signed.email) == bool(signed.customer) or len(identity) > _MAX or len(signed.hash) > 128:
        raise NotAuthorised
    # "|" separates the identity from the expiry in the signed message: an identity holding one could pass a hash
    # made for "someone|expiry" off as someone else's, or an expiring hash as a bare one.
    if "|" in identity or not identity.isprintable():
        raise NotAuthorised
    settings = await select_embed_settings(conn, workspace_id)
    if settings is None:
        raise NotAuthorised
    candidates = [
        box.open(sealed)
        for sealed in accepted_secrets(settings.secret, settings.previous_secret, settings.previous_until, now)
    ]
    if not hash_matches(candidates, identity, signed.expires, signed.hash) or expired(signed.expires, now):
        raise NotAuthorised
    if signed.email:
        email = signed.email.strip().lower()
        if not is_address(email):
            raise NotAuthorised
    else:
        found = await select_email_of_stripe_customer(conn, workspace_id, signed.customer)
        if found is None:
            raise NotAuthorised
        email = found
    token = secrets.token_urlsafe(32)
    expires_at = now + SESSION_TTL
    await insert_embed_session(
        conn, token_hash=token_hash(token), workspace_id=workspace_id, email=email, now=now, expires_at=expires_at
    )
    return token, expires_at


async def embed_session_email(conn: Connection, workspace_id: int, token: str | None, now: datetime) -> str | None:
    if not token or len(token) > 100:
        return None
    return await select_embed_session_email(conn, token_hash(token), workspace_id, now)
