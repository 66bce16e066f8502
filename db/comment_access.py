"""Who may write in a thread: one-time codes, their request log (rate limits), writer sessions, TOTP enrolments.

Times come from the caller (web/comment_access.py takes an injectable clock), so expiry can be tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, row_to, row_to_one


@dataclass(frozen=True, slots=True)
class CommentCode:
    invoice_id: int
    email: str
    author_name: str
    salt: bytes
    code_hash: bytes
    wrong_tries: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class CommentSession:
    id: int
    invoice_id: int
    email: str
    author_name: str
    author_role: str
    created_at: datetime
    expires_at: datetime
    totp_passed_at: datetime | None
    totp_failures: int
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    workspace_id: int
    email: str
    secret: str
    confirmed_at: datetime | None
    last_timecode: int


CODE_COLUMNS = columns(CommentCode)
SESSION_COLUMNS = columns(CommentSession)
ENROLMENT_COLUMNS = columns(TotpEnrolment)


@dataclass(frozen=True, slots=True)
class RequestCounts:
    for_invoice: int
    for_email: int
    for_client: int


async def count_code_requests(
    conn: Connection, *, invoice_id: int, email: str, client: str, since: datetime
) -> RequestCounts:
    record = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM comment_code_requests WHERE invoice_id = $1 AND requested_at > $4) AS for_invoice,
               (SELECT count(*) FROM comment_code_requests WHERE email = $2 AND requested_at > $4) AS for_email,
               (SELECT count(*) FROM comment_code_requests WHERE client = $3 AND requested_at > $4) AS for_client
        """,
        invoice_id,
        email,
        client,
        since,
    )
    assert record is not None  # an aggregate always returns its one row
    return RequestCounts(record["for_invoice"], record["for_email"], record["for_client"])


async def insert_code(
    conn: Connection,
    *,
    invoice_id: int,
    email: str,
    author_name: str,
    client: str,
    salt: bytes,
    code_hash: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Log the request and put this code in place of any earlier one for the address (fresh tries, unused)."""
    await conn.execute(
        "INSERT INTO comment_code_requests (invoice_id, email, client, requested_at) VALUES ($1, $2, $3, $4)",
        invoice_id,
        email,
        client,
        now,
    )
    await conn.execute(
        """
        INSERT INTO comment_codes (invoice_id, email, author_name, salt, code_hash, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (invoice_id, email) DO UPDATE
        SET author_name = EXCLUDED.author_name, salt = EXCLUDED.salt, code_hash = EXCLUDED.code_hash,
            wrong_tries = 0, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, used_at = NULL
        """,
        invoice_id, email, author_name, salt, code_hash, now, expires_at,
    )  # fmt: skip
    # The log only has to reach back over the longest rate-limit window.
    await conn.execute("DELETE FROM comment_code_requests WHERE requested_at < $1::timestamptz - interval '1 day'", now)


async def select_code_for_update(conn: Connection, invoice_id: int, email: str) -> CommentCode | None:
    """Locked, so two guesses at once cannot both slip under the try limit and a code is used once."""
    record = await conn.fetchrow(
        f"SELECT {CODE_COLUMNS} FROM comment_codes WHERE invoice_id = $1 AND email = $2 FOR UPDATE",
        invoice_id,
        email,
    )
    return row_to(CommentCode, record)


async def count_wrong_try(conn: Connection, invoice_id: int, email: str) -> int:
    value: int = await conn.fetchval(
        """
        UPDATE comment_codes SET wrong_tries = wrong_tries + 1 WHERE invoice_id = $1 AND email = $2
        RETURNING wrong_tries
        """,
        invoice_id,
        email,
    )
    return value


async def use_code(conn: Connection, invoice_id: int, email: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE comment_codes SET used_at = $3 WHERE invoice_id = $1 AND email = $2", invoice_id, email, now
    )


async def insert_session(
    conn: Connection,
    *,
    token_hash: bytes,
    invoice_id: int,
    email: str,
    author_name: str,
    author_role: str,
    now: datetime,
    expires_at: datetime,
) -> CommentSession:
    record = await conn.fetchrow(
        f"""
        INSERT INTO comment_sessions (token_hash, invoice_id, email, author_name, author_role, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING {SESSION_COLUMNS}
        """,
        token_hash, invoice_id, email, author_name, author_role, now, expires_at,
    )  # fmt: skip
    return row_to_one(CommentSession, record)


async def select_live_session(
    conn: Connection, token_hash: bytes, invoice_id: int, now: datetime
) -> CommentSession | None:
    """Only for the invoice it was made for: a cookie from another invoice finds nothing."""
    record = await conn.fetchrow(
        f"""
        SELECT {SESSION_COLUMNS} FROM comment_sessions
        WHERE token_hash = $1 AND invoice_id = $2 AND ended_at IS NULL AND expires_at > $3
        """,
        token_hash,
        invoice_id,
        now,
    )
    return row_to(CommentSession, record)


async def end_session(conn: Connection, token_hash: bytes, invoice_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE comment_sessions SET ended_at = $3 WHERE token_hash = $1 AND invoice_id = $2 AND ended_at IS NULL",
        token_hash,
        invoice_id,
        now,
    )


async def end_session_by_id(conn: Connection, session_id: int, now: datetime) -> None:
    await conn.execute("UPDATE comment_sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL", session_id, now)


async def lock_totp_failures(conn: Connection, session_id: int) -> int:
    """The session's failed TOTP tries, its row locked until the transaction ends: parallel guesses queue here,
    so each is judged after the ones before it were counted. 0 if the session is gone."""
    value: int | None = await conn.fetchval(
        "SELECT totp_failures FROM comment_sessions WHERE id = $1 FOR UPDATE", session_id
    )
    return value or 0


async def record_totp_failure(conn: Connection, session_id: int) -> int:
    value: int = await conn.fetchval(
        "UPDATE comment_sessions SET totp_failures = totp_failures + 1 WHERE id = $1 RETURNING totp_failures",
        session_id,
    )
    return value


async def pass_totp(conn: Connection, session_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE comment_sessions SET totp_passed_at = $2, totp_failures = 0 WHERE id = $1", session_id, now
    )


async def select_or_start_enrolment(conn: Connection, workspace_id: int, email: str, new_secret: str) -> TotpEnrolment:
    """The address's enrolment, starting an unconfirmed one with `new_secret` when it has none."""
    await conn.execute(
        """
        INSERT INTO totp_enrolments (workspace_id, email, secret) VALUES ($1, $2, $3)
        ON CONFLICT (workspace_id, email) DO NOTHING
        """,
        workspace_id,
        email,
        new_secret,
    )
    record = await conn.fetchrow(
        f"SELECT {ENROLMENT_COLUMNS} FROM totp_enrolments WHERE workspace_id = $1 AND email = $2",
        workspace_id,
        email,
    )
    return row_to_one(TotpEnrolment, record)


async def accept_timecode(conn: Connection, workspace_id: int, email: str, timecode: int, now: datetime) -> bool:
    """Move the replay guard forward; False when this time step (or a later one) was already accepted."""
    status = await conn.execute(
        """
        UPDATE totp_enrolments SET last_timecode = $3, confirmed_at = coalesce(confirmed_at, $4)
        WHERE workspace_id = $1 AND email = $2 AND last_timecode < $3
        """,
        workspace_id,
        email,
        timecode,
        now,
    )
    return status == "UPDATE 1"


async def delete_enrolment(conn: Connection, workspace_id: int, email: str) -> bool:
    """The billing team's reset: the writer enrols again at their next write."""
    status = await conn.execute(
        "DELETE FROM totp_enrolments WHERE workspace_id = $1 AND email = $2", workspace_id, email
    )
    return status == "DELETE 1"
