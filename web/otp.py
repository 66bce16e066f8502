"""One-time codes sent by e-mail and TOTP from an authenticator app: generation, hashing, verification.

E-mailed codes are random digits from `secrets`, kept only as a salted SHA-256 (they live 10 minutes and allow
five tries, so a stronger hash buys nothing). TOTP uses pyotp with ±1 time step; the caller stores the accepted
time step as a replay guard.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from pyotp.exceptions import OTPVerificationError

CODE_DIGITS = 6
TOTP_ISSUER = "Invoice portal"


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt() -> bytes:
    return secrets.token_bytes(16)


def hash_code(salt: bytes, code: str) -> bytes:
    return hashlib.sha256(salt + code.encode()).digest()


def unmatchable_hash() -> bytes:
    """Stored for addresses that may not write: no code hashes to random bytes."""
    return secrets.token_bytes(32)


def code_matches(salt: bytes, expected_hash: bytes, given: str) -> bool:
    # Compared as strings of digits (leading zeros matter), in constant time.
    return hmac.compare_digest(hash_code(salt, given), expected_hash)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_timecode(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` belongs to (within ±1 step of `now`), or None when it matches none."""
    if not (len(code) == CODE_DIGITS and code.isascii() and code.isdigit()):
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(code, for_time=now, valid_window=1)
    except OTPVerificationError:
        return None


def totp_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer or TOTP_ISSUER)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (the CSP allows data: images, nothing inline else)."""
    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


def spaced_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
