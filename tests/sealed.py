"""The SECRET_KEY of every app the tests start, and what tests need to read a sealed secret back."""

from __future__ import annotations

from web.secret_box import SecretBox

TEST_SECRET_KEY = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
BOX = SecretBox(TEST_SECRET_KEY)


def opened(stored: str | None) -> str:
    assert stored, "no secret stored"
    return BOX.open(stored)
