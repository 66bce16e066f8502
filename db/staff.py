"""Staff accounts of the console, their sessions and failed sign-in steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.rows import Connection, columns, prefixed, row_to, row_to_one, rows_to
from db.session import lock_names_for_transaction


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    workspace_id: int
    email: str
    display_name: str
    role: str
    password_hash: str
    totp_secret: str | None
    totp_confirmed_at: datetime | None
    totp_last_timecode: int
    disabled_at: datetime | None
    created_at: datetime
    formats: str  # the console's number, money and date format for this teammate (a locale tag)


@dataclass(frozen=True, slots=True)
class StaffSession:
    id: int
    staff_id: int
    stage: str
    csrf_token: str
    user_agent: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None


COLUMNS = columns(Staff)
SESSION_COLUMNS = columns(StaffSession)


async def insert_staff(
    conn: Connection, *, workspace_id: int, email: str, display_name: str, role: str, password_hash: str
) -> Staff:
    record = await conn.fetchrow(
        f"""
        INSERT INTO staff (workspace_id, email, display_name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
        RETURNING {COLUMNS}
        """,
        workspace_id, email, display_name, role, password_hash,
    )  # fmt: skip
    return row_to_one(Staff, record)


async def set_staff_formats(conn: Connection, staff_id: int, formats: str) -> None:
    await conn.execute("UPDATE staff SET formats = $2 WHERE id = $1", staff_id, formats)


async def select_staff_by_email(conn: Connection, email: str) -> Staff | None:
    return row_to(Staff, await conn.fetchrow(f"SELECT {COLUMNS} FROM staff WHERE email = $1", email))


async def set_password_hash(conn: Connection, staff_id: int, password_hash: str) -> None:
    """argon2 parameters move on; a hash made with older ones is replaced at the next good sign-in."""
    await conn.execute("UPDATE staff SET password_hash = $2 WHERE id = $1", staff_id, password_hash)


async def start_totp_enrolment(conn: Connection, staff_id: int, secret: str) -> str:
    """Keep the secret already shown (a reload must not change the QR code) unless enrolment was confirmed."""
    value: str = await conn.fetchval(
        """
        UPDATE staff SET totp_secret = coalesce(totp_secret, $2) WHERE id = $1 AND totp_confirmed_at IS NULL
        RETURNING totp_secret
        """,
        staff_id,
        secret,
    )
    return value


async def accept_totp_timecode(conn: Connection, staff_id: int, timecode: int, now: datetime) -> bool:
    """Record the accepted time step; False when it (or a later one) was already used: a replayed code."""
    status = await conn.execute(
        """
        UPDATE staff SET totp_last_timecode = $2, totp_confirmed_at = coalesce(totp_confirmed_at, $3)
        WHERE id = $1 AND totp_last_timecode < $2
        """,
        staff_id,
        timecode,
        now,
    )
    return status == "UPDATE 1"


async def insert_session(
    conn: Connection,
    *,
    token_hash: bytes,
    staff_id: int,
    csrf_token: str,
    user_agent: str,
    now: datetime,
    expires_at: datetime,
) -> StaffSession:
    record = await conn.fetchrow(
        f"""
        INSERT INTO staff_sessions (token_hash, staff_id, stage, csrf_token, user_agent, created_at, last_seen_at,
                                    expires_at)
        VALUES ($1, $2, 'password', $3, $4, $5, $5, $6)
        RETURNING {SESSION_COLUMNS}
        """,
        token_hash, staff_id, csrf_token, user_agent[:300], now, expires_at,
    )  # fmt: skip
    return row_to_one(StaffSession, record)


async def select_live_session(
    conn: Connection, token_hash: bytes, now: datetime, idle_seconds: int
) -> tuple[StaffSession, Staff] | None:
    """The session and its account, unless ended, expired, idle too long, or the account is disabled."""
    record = await conn.fetchrow(
        f"""
        SELECT {prefixed(StaffSession, "s")}, {", ".join(f"a.{name} AS staff_{name}" for name in COLUMNS.split(", "))}
        FROM staff_sessions s JOIN staff a ON a.id = s.staff_id
        WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2
          AND s.last_seen_at > $2 - make_interval(secs => $3) AND a.disabled_at IS NULL
        """,
        token_hash,
        now,
        idle_seconds,
    )
    if record is None:
        return None
    staff = Staff(**{name: record[f"staff_{name}"] for name in COLUMNS.split(", ")})
    return row_to_one(StaffSession, record), staff


async def touch_session(conn: Connection, session_id: int, now: datetime) -> None:
    await conn.execute("UPDATE staff_sessions SET last_seen_at = $2 WHERE id = $1", session_id, now)


async def complete_session(
    conn: Connection, session_id: int, *, token_hash: bytes, now: datetime, expires_at: datetime
) -> bool:
    """Password and TOTP both passed: a new token (the pending one stops working) and the full lifetime.
    False when the session was ended meanwhile."""
    status = await conn.execute(
        """
        UPDATE staff_sessions SET stage = 'full', token_hash = $2, last_seen_at = $3, expires_at = $4
        WHERE id = $1 AND ended_at IS NULL
        """,
        session_id,
        token_hash,
        now,
        expires_at,
    )
    return bool(status == "UPDATE 1")


async def end_session(conn: Connection, session_id: int, now: datetime) -> None:
    await conn.execute("UPDATE staff_sessions SET ended_at = coalesce(ended_at, $2) WHERE id = $1", session_id, now)


async def end_sessions_of(conn: Connection, staff_id: int, now: datetime, *, except_id: int = 0) -> int:
    status = await conn.execute(
        "UPDATE staff_sessions SET ended_at = $2 WHERE staff_id = $1 AND ended_at IS NULL AND id <> $3",
        staff_id,
        now,
        except_id,
    )
    return int(status.split()[-1])


async def select_open_sessions(conn: Connection, staff_id: int, now: datetime) -> list[StaffSession]:
    records = await conn.fetch(
        f"""
        SELECT {SESSION_COLUMNS} FROM staff_sessions
        WHERE staff_id = $1 AND ended_at IS NULL AND expires_at > $2 AND stage = 'full'
        ORDER BY last_seen_at DESC
        """,
        staff_id,
        now,
    )
    return rows_to(StaffSession, records)


async def lock_sign_in(conn: Connection, email: str, client: str) -> None:
    """Serialise sign-in steps for one address and for one client until the caller's transaction ends: both
    failure counts are then read after every earlier attempt on them committed."""
    await lock_names_for_transaction(conn, f"staff-sign-in:{email}", f"staff-sign-in-client:{client}")


async def insert_failure(conn: Connection, email: str, client: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO staff_sign_in_failures (email, client, failed_at) VALUES ($1, $2, $3)", email, client, now
    )


async def recent_failures(
    conn: Connection, *, email: str, client: str, since: datetime
) -> tuple[int, int, datetime | None]:
    """Failures since `since` for the address and for the client, and the newest failure for the address."""
    record = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM staff_sign_in_failures WHERE email = $1 AND failed_at > $3) AS by_email,
               (SELECT count(*) FROM staff_sign_in_failures WHERE client = $2 AND failed_at > $3) AS by_client,
               (SELECT max(failed_at) FROM staff_sign_in_failures WHERE email = $1 AND failed_at > $3) AS newest
        """,
        email,
        client,
        since,
    )
    assert record is not None  # an aggregate always returns its one row
    return int(record["by_email"]), int(record["by_client"]), record["newest"]


async def clear_failures(conn: Connection, email: str) -> None:
    await conn.execute("DELETE FROM staff_sign_in_failures WHERE email = $1", email)
