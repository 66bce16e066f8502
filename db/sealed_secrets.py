"""Every secret the database keeps sealed (web/secret_box.py), read and written back for key rotation: staff
TOTP secrets, comment writers' TOTP enrolments, and each workspace's Stripe key and webhook signing secret."""

from __future__ import annotations

from collections.abc import Callable

from db.rows import Connection
from db.stripe_connections import select_sealed_stripe_secrets


async def reseal_all(conn: Connection, reseal: Callable[[str], str]) -> int:
    """Write every stored secret back as `reseal` returns it, in one transaction under row locks (a sign-in that
    starts an enrolment meanwhile waits). Returns how many were written."""
    count = 0
    async with conn.transaction():
        for record in await conn.fetch("SELECT id, totp_secret FROM staff WHERE totp_secret IS NOT NULL FOR UPDATE"):
            resealed = reseal(record["totp_secret"])
            await conn.execute("UPDATE staff SET totp_secret = $2 WHERE id = $1", record["id"], resealed)
            count += 1
        for record in await conn.fetch("SELECT workspace_id, email, secret FROM totp_enrolments FOR UPDATE"):
            await conn.execute(
                "UPDATE totp_enrolments SET secret = $3 WHERE workspace_id = $1 AND email = $2",
                record["workspace_id"], record["email"], reseal(record["secret"]),
            )  # fmt: skip
            count += 1
        for workspace_id, key, webhook_secret in await select_sealed_stripe_secrets(conn):
            await conn.execute(
                "UPDATE stripe_connections SET secret_key = $2, webhook_secret = $3 WHERE workspace_id = $1",
                workspace_id, reseal(key), reseal(webhook_secret),
            )  # fmt: skip
            count += 2
    return count
