"""Who may read a customer's billing history (migration 0017): e-mailed codes per workspace and address, their
request log (rate limits), and customer sessions. Times come from the caller, so expiry can be tested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to, row_to_one


@dataclass(frozen=True, slots=True)
class HistoryCode:
    workspace_id: int
    email: str
    salt: bytes
    code_hash: bytes
    wrong_tries: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class CustomerSession:
    id: int
    workspace_id: int
    email: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryRequestCounts:
    for_workspace: int
    for_email: int
    for_client: int


CODE_COLUMNS = columns(HistoryCode)
SESSION_COLUMNS = columns(CustomerSession)


async def is_billed_address(conn: Connection, workspace_id: int, email: str) -> bool:
    """Some customer of the workspace is billed at this address (the index on lower(email) answers it)."""
    found = await conn.fetchval(
        "SELECT true FROM customers WHERE workspace_id = $1 AND lower(email) = $2 LIMIT 1", workspace_id, email
    )
    return bool(found)


async def count_history_code_requests(
    conn: Connection, *, workspace_id: int, email: str, client: str, since: datetime
) -> HistoryRequestCounts:
    record = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM history_code_requests WHERE workspace_id = $1 AND requested_at > $4) AS w,
               (SELECT count(*) FROM history_code_requests
                WHERE workspace_id = $1 AND email = $2 AND requested_at > $4) AS e,
               (SELECT count(*) FROM history_code_requests WHERE client = $3 AND requested_at > $4) AS c
        """,
        workspace_id, email, client, since,
    )  # fmt: skip
    assert record is not None  # an aggregate always returns its one row
    return HistoryRequestCounts(record["w"], record["e"], record["c"])


async def insert_history_code(
    conn: Connection,
    *,
    workspace_id: int,
    email: str,
    client: str,
    salt: bytes,
    code_hash: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Log the request and put this code in place of any earlier one for the address (fresh tries, unused)."""
    await conn.execute(
        "INSERT INTO history_code_requests (workspace_id, email, client, requested_at) VALUES ($1, $2, $3, $4)",
        workspace_id, email, client, now,
    )  # fmt: skip
    await conn.execute(
        """
        INSERT INTO history_codes (workspace_id, email, salt, code_hash, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (workspace_id, email) DO UPDATE
        SET salt = EXCLUDED.salt, code_hash = EXCLUDED.code_hash, wrong_tries = 0, created_at = EXCLUDED.created_at,
            expires_at = EXCLUDED.expires_at, used_at = NULL
        """,
        workspace_id, email, salt, code_hash, now, expires_at,
    )  # fmt: skip
    await conn.execute("DELETE FROM history_code_requests WHERE requested_at < $1::timestamptz - interval '1 day'", now)


async def select_history_code_for_update(conn: Connection, workspace_id: int, email: str) -> HistoryCode | None:
    """Locked, so two guesses at once cannot both slip under the try limit and a code is used once."""
    record = await conn.fetchrow(
        f"SELECT {CODE_COLUMNS} FROM history_codes WHERE workspace_id = $1 AND email = $2 FOR UPDATE",
        workspace_id, email,
    )  # fmt: skip
    return row_to(HistoryCode, record)


async def count_wrong_history_try(conn: Connection, workspace_id: int, email: str) -> int:
    value: int = await conn.fetchval(
        """
        UPDATE history_codes SET wrong_tries = wrong_tries + 1 WHERE workspace_id = $1 AND email = $2
        RETURNING wrong_tries
        """,
        workspace_id, email,
    )  # fmt: skip
    return value


async def use_history_code(conn: Connection, workspace_id: int, email: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE history_codes SET used_at = $3 WHERE workspace_id = $1 AND email = $2", workspace_id, email, now
    )


async def insert_customer_session(
    conn: Connection, *, token_hash: bytes, workspace_id: int, email: str, now: datetime, expires_at: datetime
) -> CustomerSession:
    record = await conn.fetchrow(
        f"""
        INSERT INTO customer_sessions (token_hash, workspace_id, email, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5) RETURNING {SESSION_COLUMNS}
        """,
        token_hash, workspace_id, email, now, expires_at,
    )  # fmt: skip
    return row_to_one(CustomerSession, record)


async def select_live_customer_session(
    conn: Connection, token_hash: bytes, workspace_id: int, now: datetime
) -> CustomerSession | None:
    """Only for the workspace it was made for: another workspace's cookie finds nothing."""
    record = await conn.fetchrow(
        f"""
        SELECT {SESSION_COLUMNS} FROM customer_sessions
        WHERE token_hash = $1 AND workspace_id = $2 AND ended_at IS NULL AND expires_at > $3
        """,
        token_hash, workspace_id, now,
    )  # fmt: skip
    return row_to(CustomerSession, record)


async def end_customer_session(conn: Connection, token_hash: bytes, workspace_id: int, now: datetime) -> None:
    await conn.execute(
        """
        UPDATE customer_sessions SET ended_at = $3
        WHERE token_hash = $1 AND workspace_id = $2 AND ended_at IS NULL
        """,
        token_hash, workspace_id, now,
    )  # fmt: skip


async def count_live_customer_sessions(conn: Connection, workspace_id: int, email: str, now: datetime) -> int:
    value: int = await conn.fetchval(
        """
        SELECT count(*) FROM customer_sessions
        WHERE workspace_id = $1 AND email = $2 AND ended_at IS NULL AND expires_at > $3
        """,
        workspace_id, email, now,
    )  # fmt: skip
    return value


async def end_customer_sessions_of(conn: Connection, workspace_id: int, email: str, now: datetime) -> int:
    """Every live history session of the address in the workspace ended (the console's sign-out); how many."""
    ended = await conn.fetch(
        """
        UPDATE customer_sessions SET ended_at = $3
        WHERE workspace_id = $1 AND email = $2 AND ended_at IS NULL AND expires_at > $3 RETURNING id
        """,
        workspace_id, email, now,
    )  # fmt: skip
    return len(ended)
