"""Getting into a billing history: a 6-digit code e-mailed to the address, then a customer session for that
workspace (a first-party cookie, 30 days, ended by Sign out).

Every answer is the same whether or not the workspace bills that address: an unknown address gets the same
sentence, a code row no code matches, and the same rate limits; the code's mail leaves after the answer. The
limits are counted inside the transaction that writes, under advisory locks on the workspace, address and
client, so requests sent at the same moment cannot all slip under one. The code checks are the comment codes'
(web/comments/access.py) with their messages.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from db import customer_access as access
from db.outbox import insert_mail
from db.rows import Connection
from db.session import lock_names_for_transaction
from db.workspaces import Workspace
from web.comments.access import AccessError, clean_email, code_refusal
from web.i18n.catalogs import Texts
from web.i18n.letters import Letters
from web.i18n.message import Message, msg
from web.invoices.links import token_hash
from web.otp import hash_code, new_code, new_salt, unmatchable_hash

CODE_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(days=30)
RATE_WINDOW = timedelta(hours=1)
# A workspace-wide ceiling far above any real month-end: it only stops a flood, never a few noisy clients.
MAX_REQUESTS_PER_WORKSPACE = 5000
MAX_REQUESTS_PER_EMAIL = 5
MAX_REQUESTS_PER_CLIENT = 10
MAX_TOKEN_LENGTH = 100

CODE_SENT = msg(
    "If invoices are sent to this address, we have e-mailed a 6-digit code to it. It is valid for 10 minutes."
)


async def request_code(
    conn: Connection,
    workspace: Workspace,
    *,
    email: str,
    client: str,
    now: datetime,
    letters: Letters,
    texts: Texts,
) -> int | None:
    """Record a code for the address and, when the workspace bills it, write its mail to the outbox; the outbox id
    to deliver once the answer is out (None: nothing to send, which the asker cannot tell: the answer, its status
    and its time are the same, and no mail server is waited for while the limits' locks are held)."""
    email = clean_email(email)
    async with conn.transaction():
        await lock_names_for_transaction(
            conn, f"history-code-workspace:{workspace.id}", f"history-code-email:{workspace.id}:{email}",
            f"history-code-client:{client}",
        )  # fmt: skip
        counts = await access.count_history_code_requests(
            conn, workspace_id=workspace.id, email=email, client=client, since=now - RATE_WINDOW
        )
        if (
            counts.for_workspace >= MAX_REQUESTS_PER_WORKSPACE
            or counts.for_email >= MAX_REQUESTS_PER_EMAIL
            or counts.for_client >= MAX_REQUESTS_PER_CLIENT
        ):
            raise AccessError(msg("Too many codes were asked for. Please try again in an hour."))
        billed = await access.is_billed_address(conn, workspace.id, email)
        code, salt = new_code(), new_salt()
        await access.insert_history_code(
            conn, workspace_id=workspace.id, email=email, client=client, salt=salt,
            code_hash=hash_code(salt, code) if billed else unmatchable_hash(), now=now, expires_at=now + CODE_TTL,
        )  # fmt: skip
        if not billed:
            return None
        letter = letters.write("history_code", texts, code=code, seller=workspace.legal_name)
        return await insert_mail(
            conn, workspace_id=workspace.id, invoice_id=None, kind="history_code", recipient=email,
            subject=letter.subject, body=letter.body, sensitive=True,
        )  # fmt: skip


async def verify_code(conn: Connection, workspace: Workspace, *, email: str, code: str, now: datetime) -> str:
    """Check a code; on success open a customer session and return its cookie token."""
    email, code = clean_email(email), code.strip().replace(" ", "")
    refusal: Message | None = None
    token = ""
    async with conn.transaction():
        row = await access.select_history_code_for_update(conn, workspace.id, email)
        refusal = await code_refusal(row, code, now, lambda: access.count_wrong_history_try(conn, workspace.id, email))
        if refusal is None:
            await access.use_history_code(conn, workspace.id, email, now)
            token = secrets.token_urlsafe(32)
            await access.insert_customer_session(
                conn, token_hash=token_hash(token), workspace_id=workspace.id, email=email, now=now,
                expires_at=now + SESSION_TTL,
            )  # fmt: skip
    if refusal is not None:  # raised after the transaction, so the counted wrong try is committed
        raise AccessError(refusal)
    return token


async def find_session(
    conn: Connection, workspace: Workspace, token: str | None, now: datetime
) -> access.CustomerSession | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await access.select_live_customer_session(conn, token_hash(token), workspace.id, now)


async def end_session(conn: Connection, workspace: Workspace, token: str | None, now: datetime) -> None:
    if token and len(token) <= MAX_TOKEN_LENGTH:
        await access.end_customer_session(conn, token_hash(token), workspace.id, now)
