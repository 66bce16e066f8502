"""Proving who may write in a thread: e-mailed one-time codes, writer sessions, and the optional TOTP step.

Every answer about an address is the same whether or not it may write (mode `customer` sends a code only to
the customer's address on file, but an other address gets the same message, a code row that no code matches,
and the same rate limits). Times come from the caller's clock, so expiry is testable.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from db import comment_access as access
from db.customers import select_customer
from db.invoices import Invoice
from db.outbox import insert_mail, mark_sent
from db.rows import Connection
from db.session import lock_names_for_transaction
from web.i18n.catalogs import Texts
from web.i18n.letters import Letters
from web.i18n.message import Message, Refusal, msg, msg_plural
from web.invoices.links import token_hash
from web.mail import Mailer, is_address
from web.otp import (
    code_matches,
    hash_code,
    new_code,
    new_salt,
    new_totp_secret,
    qr_data_uri,
    spaced_secret,
    totp_timecode,
    totp_uri,
    unmatchable_hash,
)
from web.secret_box import SecretBox

CODE_TTL = timedelta(minutes=10)
MAX_WRONG_TRIES = 5
SESSION_TTL = timedelta(days=30)
MAX_TOTP_FAILURES = 5
# Code requests per rolling hour: an invoice (all its readers), an address (on any invoice), a client address.
RATE_WINDOW = timedelta(hours=1)
MAX_REQUESTS_PER_INVOICE = 20
MAX_REQUESTS_PER_EMAIL = 5
MAX_REQUESTS_PER_CLIENT = 10

CODE_SENT = msg("If this address may write here, we have sent a 6-digit code to it. It is valid for 10 minutes.")
WRONG_CODE = msg("That code is not right.")
TOO_MANY_TRIES = msg("Too many wrong tries for this code. Ask for a new one.")
TOO_MANY_TOTP_FAILURES = msg("Too many wrong codes. Please confirm your e-mail address again.")


class AccessError(Refusal):
    """A refusal the person can act on; its text is shown in the form."""


@dataclass(frozen=True, slots=True)
class TotpPrompt:
    enrolled: bool
    qr_data_uri: str = ""
    secret: str = ""


def clean_name(text: str) -> str:
    name = " ".join("".join(ch for ch in text if unicodedata.category(ch)[0] != "C").split())
    if not name:
        raise AccessError(msg("Please give your name: it is shown next to your comments."))
    if len(name) > 100:
        raise AccessError(msg("Please shorten your name to at most %(limit)s characters.", limit=100))
    return name


def clean_email(text: str) -> str:
    email = text.strip().lower()
    if not email:
        raise AccessError(msg("Please give your e-mail address: we send the code there."))
    if not is_address(email):
        raise AccessError(msg("That does not look like an e-mail address (name@example.com)."))
    return email


async def _customer_email(conn: Connection, invoice: Invoice) -> str:
    customer = await select_customer(conn, invoice.workspace_id, invoice.customer_id)
    return customer.email.strip().lower() if customer is not None else ""


async def request_code(
    conn: Connection,
    invoice: Invoice,
    *,
    name: str,
    email: str,
    client: str,
    now: datetime,
    mailer: Mailer,
    letters: Letters,
    texts: Texts,
) -> bool:
    """Record a code for the address and e-mail it when it may write. The mail is sent inside the transaction,
    before its rows: if the mail server cannot take it (MailUndeliverable), nothing is recorded, so the reader's
    retry is neither refused as a repeat nor counted against the limits. Returns whether the address may write
    (the reader cannot tell). The mail is in `texts`' language: the one the reader is reading the page in."""
    name, email = clean_name(name), clean_email(email)
    if invoice.comment_mode == "closed":
        raise AccessError(msg("This thread is read-only."))
    async with conn.transaction():
        # One request at a time per invoice, per address and per client: each limit counts only requests that
        # committed or queue behind this one, so requests sent at the same moment cannot all slip under it.
        await lock_names_for_transaction(
            conn, f"comment-code-invoice:{invoice.id}", f"comment-code-email:{email}", f"comment-code-client:{client}"
        )
        counts = await access.count_code_requests(
            conn, invoice_id=invoice.id, email=email, client=client, since=now - RATE_WINDOW
        )
        if (
            counts.for_invoice >= MAX_REQUESTS_PER_INVOICE
            or counts.for_email >= MAX_REQUESTS_PER_EMAIL
            or counts.for_client >= MAX_REQUESTS_PER_CLIENT
        ):
            raise AccessError(msg("Too many codes were asked for. Please try again in an hour."))
        may_write = invoice.comment_mode == "otp" or email == await _customer_email(conn, invoice)
        code, salt = new_code(), new_salt()
        letter = letters.write("comment_code", texts, number=invoice.number, code=code, name=name)
        # Sent before any row is written: the inserts below lock the invoice row against payment writers
        # (foreign keys), and a slow mail server must not hold that lock.
        sent = may_write and await mailer.send_now(recipient=email, subject=letter.subject, body=letter.body)
        await access.insert_code(
            conn, invoice_id=invoice.id, email=email, author_name=name, client=client, salt=salt,
            code_hash=hash_code(salt, code) if may_write else unmatchable_hash(), now=now, expires_at=now + CODE_TTL,
        )  # fmt: skip
        if not may_write:
            return False
        mail_id = await insert_mail(
            conn, workspace_id=invoice.workspace_id, invoice_id=invoice.id, kind="comment_code", recipient=email,
            subject=letter.subject, body=letter.body, sensitive=True,
        )  # fmt: skip
        if sent:
            await mark_sent(conn, mail_id)
    return True


class OneTimeCode(Protocol):
    """A stored code row (comment codes, billing-history codes): what judging a typed code needs."""

    @property
    def used_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def wrong_tries(self) -> int: ...
    @property
    def salt(self) -> bytes: ...
    @property
    def code_hash(self) -> bytes: ...


async def code_refusal(
    row: OneTimeCode | None, code: str, now: datetime, count_wrong_try: Callable[[], Awaitable[int]]
) -> Message | None:
    """Why a typed code is refused (None: it matches). A wrong one is counted (`count_wrong_try`, inside the caller's
    transaction, the row locked) and says how many tries are left."""
    if row is None:
        return WRONG_CODE
    if row.used_at is not None:
        return msg("This code was already used. Ask for a new one.")
    if row.expires_at <= now:
        return msg("This code has expired. Ask for a new one.")
    if row.wrong_tries >= MAX_WRONG_TRIES:
        return TOO_MANY_TRIES
    if code_matches(row.salt, row.code_hash, code):
        return None
    left = MAX_WRONG_TRIES - await count_wrong_try()
    if left <= 0:
        return TOO_MANY_TRIES
    return msg_plural("That code is not right. %(num)s try left.", "That code is not right. %(num)s tries left.", left)


async def verify_code(
    conn: Connection, invoice: Invoice, *, email: str, code: str, now: datetime
) -> tuple[str, access.CommentSession]:
    """Check a code; on success open a writer session and return its cookie token."""
    email, code = clean_email(email), code.strip().replace(" ", "")
    refusal: Message | None = None
    async with conn.transaction():
        row = await access.select_code_for_update(conn, invoice.id, email)
        refusal = await code_refusal(row, code, now, lambda: access.count_wrong_try(conn, invoice.id, email))
        if refusal is None and row is not None:
            await access.use_code(conn, invoice.id, email, now)
            role = "customer" if email == await _customer_email(conn, invoice) else "guest"
            token = secrets.token_urlsafe(32)
            session = await access.insert_session(
                conn, token_hash=token_hash(token), invoice_id=invoice.id, email=email, author_name=row.author_name,
                author_role=role, now=now, expires_at=now + SESSION_TTL,
            )  # fmt: skip
    # Raised after the transaction, so the counted wrong try is committed.
    if refusal is not None:
        raise AccessError(refusal)
    return token, session


async def open_vouched_session(
    conn: Connection, invoice: Invoice, *, email: str, now: datetime, expires_at: datetime
) -> str | None:
    """A writer session for an address another party has already proved (the host app of an embed signed it, see
    web/embed/sessions.py): no code step, but a TOTP step still applies when the thread asks for one. Its token, or
    None when that address may not write in this thread."""
    if not invoice.comments_enabled or invoice.comment_mode == "closed":
        return None
    customer = await select_customer(conn, invoice.workspace_id, invoice.customer_id)
    is_customer = customer is not None and email == customer.email.strip().lower()
    if invoice.comment_mode == "customer" and not is_customer:
        return None
    token = secrets.token_urlsafe(32)
    await access.insert_session(
        conn, token_hash=token_hash(token), invoice_id=invoice.id, email=email,
        author_name=((customer.name.strip() if customer is not None and is_customer else "") or email)[:100],
        author_role="customer" if is_customer else "guest", now=now, expires_at=expires_at,
    )  # fmt: skip
    return token


async def find_session(
    conn: Connection, invoice: Invoice, token: str | None, now: datetime
) -> access.CommentSession | None:
    if not token or len(token) > 100:
        return None
    return await access.select_live_session(conn, token_hash(token), invoice.id, now)


async def end_session(conn: Connection, invoice: Invoice, token: str | None, now: datetime) -> None:
    if token and len(token) <= 100:
        await access.end_session(conn, token_hash(token), invoice.id, now)


def needs_totp(invoice: Invoice, session: access.CommentSession) -> bool:
    return invoice.comments_require_totp and session.totp_passed_at is None


async def totp_prompt(conn: Connection, invoice: Invoice, session: access.CommentSession, box: SecretBox) -> TotpPrompt:
    """What the TOTP step shows: the code field only, or the enrolment (QR code and secret) the first time. The
    secret is stored sealed (web/secret_box.py)."""
    enrolment = await access.select_or_start_enrolment(
        conn, invoice.workspace_id, session.email, box.seal(new_totp_secret())
    )
    if enrolment.confirmed_at is not None:
        return TotpPrompt(enrolled=True)
    seller = (invoice.seller_snapshot or {}).get("legal_name", "")
    secret = box.open(enrolment.secret)
    uri = totp_uri(secret, session.email, seller)
    return TotpPrompt(enrolled=False, qr_data_uri=qr_data_uri(uri), secret=spaced_secret(secret))


async def verify_totp(
    conn: Connection, invoice: Invoice, session: access.CommentSession, *, code: str, now: datetime, box: SecretBox
) -> None:
    """Accept a code from the writer's app once (replay guard); enrolment is confirmed by the first good code."""
    code = code.strip().replace(" ", "")
    refusal: Message | None = None
    async with conn.transaction():
        if await access.lock_totp_failures(conn, session.id) >= MAX_TOTP_FAILURES:
            raise AccessError(TOO_MANY_TOTP_FAILURES)
        enrolment = await access.select_or_start_enrolment(
            conn, invoice.workspace_id, session.email, box.seal(new_totp_secret())
        )
        timecode = totp_timecode(box.open(enrolment.secret), code, now)
        if timecode is None:
            failures = await access.record_totp_failure(conn, session.id)
            if failures >= MAX_TOTP_FAILURES:
                await access.end_session_by_id(conn, session.id, now)
                refusal = TOO_MANY_TOTP_FAILURES
            else:
                refusal = msg("That code is not right. Check the time on your phone and use the newest code.")
        elif not await access.accept_timecode(conn, invoice.workspace_id, session.email, timecode, now):
            refusal = msg("This code was already used. Wait for the next one in your app.")
        else:
            await access.pass_totp(conn, session.id, now)
    if refusal is not None:
        raise AccessError(refusal)
