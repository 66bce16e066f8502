"""Secrets at rest: what the database keeps of a TOTP secret (and later a Stripe key) is sealed with an
authenticated cipher (Fernet: AES-128-CBC and HMAC-SHA256, from the `cryptography` package) under SECRET_KEY.

A dump of the database alone reveals nothing; a tampered value fails to open. Rotation: with SECRET_KEY set to the
new key and SECRET_KEY_OLD to the old one, everything still opens, and `invoice-portal rotate-secrets` seals every
stored secret again under the new key, after which SECRET_KEY_OLD can go.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Marks a sealed value, so a value written before encryption (plain text) is told apart and sealed by rotation.
SEALED = "sealed:v1:"
MIN_KEY_LENGTH = 32


class SecretUnreadable(Exception):
    """A sealed value no configured key opens (a wrong SECRET_KEY, or a value tampered with)."""


def _fernet(secret_key: str) -> Fernet:
    """Any long random string is a key: HKDF turns it into the 32 bytes Fernet wants."""
    if len(secret_key) < MIN_KEY_LENGTH:
        raise ValueError(f"SECRET_KEY must be at least {MIN_KEY_LENGTH} characters (e.g. `openssl rand -hex 32`)")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"invoice-portal", info=b"secrets at rest v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    def __init__(self, secret_key: str, old_keys: Sequence[str] = ()) -> None:
        """`secret_key` seals; it and `old_keys` open."""
        self._keys = MultiFernet([_fernet(secret_key), *(_fernet(old) for old in old_keys if old)])

    def seal(self, plain: str) -> str:
        return SEALED + self._keys.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain secret. A value stored before encryption (no mark) is returned as it is, until rotation
        seals it."""
        if not is_sealed(stored):
            return stored
        try:
            return self._keys.decrypt(stored[len(SEALED) :].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("a stored secret does not open with SECRET_KEY (nor SECRET_KEY_OLD)") from None

    def reseal(self, stored: str) -> str:
        """The same secret sealed under the current key (what rotation writes back)."""
        return self.seal(self.open(stored))


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED)
