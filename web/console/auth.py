"""Staff sign-in: password (argon2id), then a TOTP code (enrolled with a QR code at the first sign-in).

Failures are counted per address (known or not, so the answers never reveal which addresses have accounts)
and per client: after a few failures each try waits longer, after many the address is locked for a while.
A session is a random cookie token (only its SHA-256 is stored) with an idle and an absolute limit; the token
is replaced when the TOTP step completes, so a token seen before sign-in never becomes a signed-in one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from db import staff as store
from db.rows import Connection
from db.staff import Staff, StaffSession
from web.invoices.links import token_hash
from web.otp import new_totp_secret, qr_data_uri, spaced_secret, totp_timecode, totp_uri
from web.secret_box import SecretBox

SESSION_COOKIE = "console_session"
SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=12)
# The password step is good for this long; the TOTP code must follow within it.
PENDING_LIFETIME = timedelta(minutes=10)

FAILURE_WINDOW = timedelta(minutes=15)
BACKOFF_AFTER = 3  # failures before each try must wait
LOCK_AFTER = 10  # failures within the window lock the address until they age out
CLIENT_LIMIT = 50  # failures from one client within the window, across addresses (password spraying)
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is only a way to burn CPU

ROLES = ("billing", "support")
# argon2id's cost is the point in a deployment (0.2 s of CPU a hash or a check) and pure waste in a test run, which
# makes and signs in hundreds of accounts: only tests/__init__.py sets this, and the app warns when it is set.
FAST_PASSWORD_HASHING_FOR_TESTS = os.environ.get("INSECURE_FAST_PASSWORD_HASHING_FOR_TESTS") == "1"
PASSWORDS = PasswordHasher.from_parameters(profiles.CHEAPEST) if FAST_PASSWORD_HASHING_FOR_TESTS else PasswordHasher()
# Unknown addresses are checked against this, so they take as long as known ones.
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))


class SignInError(Exception):
    """A refused step; str() is the message for the form. `status` is 422, or 429 while throttled."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Enrolment:
    qr_data_uri: str
    secret: str  # spaced for typing by hand


def _verify(password_hash: str, password: str) -> bool:
    try:
        return PASSWORDS.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


def clean_email(text: str) -> str:
    return text.strip().lower()


def password_problem(password: str) -> str:
    """Why a new password is refused, or ''. Length is what matters (NIST 800-63B); no composition rules."""
    if len(password) < 12:
        return "Use at least 12 characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    return ""


async def _check_throttle(conn: Connection, email: str, client: str, now: datetime) -> None:
    by_email, by_client, newest = await store.recent_failures(
        conn, email=email, client=client, since=now - FAILURE_WINDOW
    )
    if by_email >= LOCK_AFTER or by_client >= CLIENT_LIMIT:
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        raise SignInError(
            f"Too many failed sign-ins. This account is locked for up to {minutes} minutes; "
            "try again later or ask a teammate to check your account.",
            429,
        )
    if by_email >= BACKOFF_AFTER and newest is not None:
        wait = timedelta(seconds=min(2 ** (by_email - BACKOFF_AFTER + 1), 60))
        left = (newest + wait - now).total_seconds()
        if left > 0:
            raise SignInError(f"Too many failed tries. Wait {int(left) + 1} seconds, then try again.", 429)


async def _fail(conn: Connection, email: str, client: str, now: datetime, message: str) -> SignInError:
    await store.insert_failure(conn, email, client, now)
    return SignInError(message)


async def check_password(
    conn: Connection, *, email: str, password: str, client: str, user_agent: str, now: datetime
) -> tuple[str, Staff]:
    """The password step: a pending session's token and the account, or SignInError."""
    email = clean_email(email)
    if not email or not password:
        raise SignInError("Enter your e-mail address and your password.")
    if len(email) > 320 or len(password) > MAX_PASSWORD_LENGTH:
        raise SignInError("The e-mail address or password is not right.")
    async with conn.transaction():
        # One attempt per address and per client at a time: parallel guesses queue here, so each sees the ones
        # before it (guesses at many addresses from one client too).
        await store.lock_sign_in(conn, email, client)
        await _check_throttle(conn, email, client, now)
        staff = await store.select_staff_by_email(conn, email)
        # argon2 takes ~0.1 s of CPU on purpose: off the event loop, so other requests keep being served.
        matched = await asyncio.to_thread(_verify, staff.password_hash if staff else _DUMMY_HASH, password)
        if not matched or staff is None or staff.disabled_at is not None:
            failure = await _fail(conn, email, client, now, "The e-mail address or password is not right.")
        else:
            failure = None
            if PASSWORDS.check_needs_rehash(staff.password_hash):
                await store.set_password_hash(conn, staff.id, await asyncio.to_thread(PASSWORDS.hash, password))
    if failure is not None or staff is None:
        raise failure or SignInError("The e-mail address or password is not right.")
    token = secrets.token_urlsafe(32)
    await store.insert_session(
        conn, token_hash=token_hash(token), staff_id=staff.id, csrf_token=secrets.token_urlsafe(32),
        user_agent=user_agent, now=now, expires_at=now + PENDING_LIFETIME,
    )  # fmt: skip
    return token, staff


async def enrolment(conn: Connection, staff: Staff, box: SecretBox) -> Enrolment | None:
    """The QR code and key to add to an authenticator app, or None once the account is enrolled. The secret is
    stored sealed (web/secret_box.py)."""
    if staff.totp_confirmed_at is not None:
        return None
    secret = box.open(await store.start_totp_enrolment(conn, staff.id, box.seal(new_totp_secret())))
    uri = totp_uri(secret, staff.email, "Invoice portal console")
    return Enrolment(qr_data_uri(uri), spaced_secret(secret))


async def check_totp(
    conn: Connection, session: StaffSession, staff: Staff, *, code: str, client: str, now: datetime, box: SecretBox
) -> str:
    """The TOTP step: the new token of the now signed-in session, or SignInError. A code is accepted once."""
    async with conn.transaction():
        await store.lock_sign_in(conn, staff.email, client)
        secret = box.open(staff.totp_secret) if staff.totp_secret else None
        result = await _totp_step(conn, session, staff, secret, code=code, client=client, now=now)
    if isinstance(result, SignInError):
        raise result
    return result


async def _totp_step(
    conn: Connection, session: StaffSession, staff: Staff, secret: str | None, *, code: str, client: str, now: datetime
) -> str | SignInError:
    """Failures are returned, not raised, so the caller's transaction commits the failure it recorded."""
    try:
        await _check_throttle(conn, staff.email, client, now)
    except SignInError as throttled:
        return throttled
    code = code.strip().replace(" ", "")
    # `staff` was read with the session in this request; its secret is set before any code can exist and never
    # changes afterwards (db.staff.start_totp_enrolment), so there is nothing newer to read.
    if not code:
        return SignInError("Enter the 6-digit code from your authenticator app.")
    timecode = totp_timecode(secret, code, now) if secret else None
    if timecode is None:
        return await _fail(
            conn, staff.email, client, now, "That code is not right. Check the time on your phone and try again."
        )
    if not await store.accept_totp_timecode(conn, staff.id, timecode, now):
        return await _fail(conn, staff.email, client, now, "This code was already used. Wait for the next one.")
    token = secrets.token_urlsafe(32)
    if not await store.complete_session(
        conn, session.id, token_hash=token_hash(token), now=now, expires_at=now + SESSION_LIFETIME
    ):
        return SignInError("This sign-in was ended meanwhile. Please start again.")
    await store.clear_failures(conn, staff.email)
    return token


async def find_session(conn: Connection, token: str | None, now: datetime) -> tuple[StaffSession, Staff] | None:
    if not token or len(token) > 100:
        return None
    return await store.select_live_session(conn, token_hash(token), now, int(SESSION_IDLE.total_seconds()))


async def create_staff(
    conn: Connection, *, workspace_id: int, email: str, display_name: str, role: str, password: str
) -> Staff:
    """For the CLI and the demo. Raises ValueError with a readable message."""
    email = clean_email(email)
    if "@" not in email or len(email) > 320:
        raise ValueError(f"{email!r} is not an e-mail address.")
    if role not in ROLES:
        raise ValueError(f"The role must be one of: {', '.join(ROLES)}.")
    if problem := password_problem(password):
        raise ValueError(problem)
    if await store.select_staff_by_email(conn, email) is not None:
        raise ValueError(f"There is already an account for {email}.")
    return await store.insert_staff(
        conn, workspace_id=workspace_id, email=email, display_name=display_name or email.split("@")[0], role=role,
        password_hash=hash_password(password),
    )  # fmt: skip
