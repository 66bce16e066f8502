"""Statements about the connection or the transaction itself rather than a table: liveness, locks, settings, NOTIFY."""

from __future__ import annotations

from db.rows import Connection


async def ping(conn: Connection, *, within: float) -> None:
    """Round trip to the server; raises when it does not answer within `within` seconds (asyncpg's own timeout,
    which also cancels the statement on the server)."""
    await conn.fetchval("SELECT 1", timeout=within)


async def lock_for_transaction(conn: Connection, scope: str, key: int) -> None:
    """An advisory lock on (scope, key) held until the caller's transaction ends: callers of one scope and key queue."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", scope, key)


async def lock_names_for_transaction(conn: Connection, *names: str) -> None:
    """Advisory locks on every name, held until the caller's transaction ends. Taken in sorted order, so two
    callers that share some of their names can never each hold one the other waits for (no deadlock)."""
    for name in sorted(set(names)):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)


async def set_actor(conn: Connection, actor: str) -> None:
    """Who is acting, for this transaction only: triggers that log activity read it (migration 0008)."""
    await conn.execute("SELECT set_config('app.actor', $1, true)", actor)


async def notify(conn: Connection, channel: str, payload: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
