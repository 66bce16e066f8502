"""The embed's HMAC (Billflow's scheme, so a business moving from it keeps its server code):

    hash = hex(HMAC-SHA256(embed secret, identity))                  a bare hash: it never expires
    hash = hex(HMAC-SHA256(embed secret, identity + "|" + expires))  recommended: expires is Unix seconds

where identity is the customer's e-mail address, or their Stripe customer id, exactly as the host sends it.
During a rotation's grace period the previous secret is accepted too. Every candidate is compared, in constant
time, whatever the first one said, so the answer's timing says nothing about which secret (or none) matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

# How long a rotated-out secret keeps working: a day for the host app to deploy the new one.
GRACE = timedelta(hours=24)
SECRET_PREFIX = "es_"  # noqa: S105 (a prefix that names the kind of key, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def expected_hash(secret: str, identity: str, expires: str) -> str:
    message = identity if not expires else f"{identity}|{expires}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def is_hex_digest(text: str) -> bool:
    """A SHA-256 HMAC as hex: 64 characters of 0-9a-f (anything else is refused before any comparison)."""
    return len(text) == 64 and all(ch in "0123456789abcdef" for ch in text)


def hash_matches(candidates: list[str], identity: str, expires: str, given: str) -> bool:
    """`given` is the HMAC of one of the `candidates` secrets (compared with every one, in constant time)."""
    given = given.strip().lower()
    if not is_hex_digest(given):
        return False
    results = [hmac.compare_digest(expected_hash(secret, identity, expires), given) for secret in candidates]
    return any(results)


def expired(expires: str, now: datetime) -> bool:
    """An expiry that is not Unix seconds counts as expired; an empty one means a bare hash (never)."""
    if not expires:
        return False
    if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        return True
    return int(expires) <= int(now.timestamp())


def accepted_secrets(
    current: str | None, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    found = [current] if current else []
    if previous and previous_until is not None and now < previous_until:
        found.append(previous)
    return found
