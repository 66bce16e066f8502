"""Writing in a thread: the text's rules, the post rate limit, the activity entry and who is e-mailed.

A customer's (or guest's) comment e-mails the workspace's support address; a billing-team reply e-mails the
customer and every verified address that wrote in the thread. Mail goes into the outbox in the same
transaction as the comment, and is delivered after commit (web/mail.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from db.activity import insert_activity
from db.comment_access import CommentSession
from db.comments import (
    Comment,
    count_recent_comments,
    insert_comment,
    lock_thread,
    select_comment_by_client_key,
    select_thread_addresses,
)
from db.customers import select_customer
from db.invoices import Invoice
from db.outbox import insert_mail
from db.rows import Connection
from db.workspaces import select_workspace
from web.i18n.choice import choose_texts
from web.i18n.letters import Letters
from web.i18n.message import Refusal, msg
from web.i18n.wording import workspace_wording

MAX_LENGTH = 5000
# Per writer on one invoice: plenty for a conversation, too few for a flood.
MAX_POSTS_PER_MINUTE = 5
CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
COMMENTED = "commented"
# C0/C1 controls except tab and newline (PostgreSQL text cannot hold NUL at all), and the bidirectional embeddings,
# overrides and isolates, which can make a text read differently from what it says ("Trojan Source"). The plain
# direction marks (U+200E, U+200F) stay: right-to-left writers need them and they cannot reorder anything.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class CommentRefused(Refusal):
    """Why the text was not posted; shown in the form with the text kept."""


@dataclass(frozen=True, slots=True)
class Posted:
    comment: Comment
    created: bool  # False: a double submit found the comment its first submit wrote
    mail_ids: list[int]


def clean_body(text: str) -> str:
    body = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not body:
        raise CommentRefused(msg("Please write something before you post."))
    if len(body) > MAX_LENGTH:
        raise CommentRefused(
            msg(
                "A comment can be at most %(limit)s characters; this one has %(length)s.",
                limit=MAX_LENGTH,
                length=len(body),
            )
        )
    return body


async def post_comment(
    conn: Connection,
    invoice: Invoice,
    writer: CommentSession,
    *,
    body: str,
    client_key: str,
    thread_url: str,
    letters: Letters,
) -> Posted:
    """A verified writer's comment. The support address hears of it; the thread's pages hear via NOTIFY."""
    text = clean_body(body)

    async def under_rate_limit() -> None:
        # Counted under the thread's lock, in the transaction that writes: posts sent at the same moment queue
        # here and each sees the ones before it, so the limit holds exactly.
        if await count_recent_comments(conn, invoice.id, writer.email, 60) >= MAX_POSTS_PER_MINUTE:
            raise CommentRefused(msg("You are writing faster than we accept. Please wait a minute and post again."))

    return await _write(
        conn, invoice, role=writer.author_role, name=writer.author_name, email=writer.email, text=text,
        client_key=client_key, tell=lambda comment: _tell_support(conn, invoice, comment, thread_url, letters),
        check=under_rate_limit,
    )  # fmt: skip


async def post_staff_reply(
    conn: Connection,
    invoice: Invoice,
    *,
    author_name: str,
    body: str,
    client_key: str,
    thread_url: str,
    letters: Letters,
) -> Posted:
    """The billing team's answer (the console calls this): the customer and the thread's writers hear of it."""
    return await _write(
        conn, invoice, role="staff", name=author_name, email="", text=clean_body(body), client_key=client_key,
        tell=lambda comment: _tell_readers(conn, invoice, comment, thread_url, letters),
    )  # fmt: skip


async def _write(
    conn: Connection,
    invoice: Invoice,
    *,
    role: str,
    name: str,
    email: str,
    text: str,
    client_key: str,
    tell: Callable[[Comment], Awaitable[list[int]]],
    check: Callable[[], Awaitable[None]] | None = None,
) -> Posted:
    """Write the comment once per client key; only the call that wrote it logs the activity and queues mail.
    `check` may refuse a new comment (raising CommentRefused); a resubmit of a written one is never refused."""
    if not CLIENT_KEY.match(client_key):
        raise CommentRefused(msg("This form is out of date. Please reload the page; your text is kept."))
    async with conn.transaction():
        await lock_thread(conn, invoice.id)
        if check is not None:
            written = await select_comment_by_client_key(conn, invoice.id, client_key)
            if written is not None:
                return Posted(written, False, [])
            await check()
        comment, created = await insert_comment(
            conn, invoice_id=invoice.id, author_role=role, author_name=name, author_email=email, body=text,
            client_key=client_key,
        )  # fmt: skip
        mail_ids: list[int] = []
        if created:
            await insert_activity(conn, invoice.id, COMMENTED, {"comment_id": comment.id, "role": role})
            mail_ids = await tell(comment)
    return Posted(comment, created, mail_ids)


async def _tell_readers(
    conn: Connection, invoice: Invoice, comment: Comment, thread_url: str, letters: Letters
) -> list[int]:
    """The customer hears in their own language (their record's), every other writer in the invoice's."""
    customer = await select_customer(conn, invoice.workspace_id, invoice.customer_id)
    customer_email = customer.email.strip().lower() if customer else ""
    addresses = [customer_email, *await select_thread_addresses(conn, invoice.id)]
    recipients = dict.fromkeys(address.strip().lower() for address in addresses if address.strip())
    wording = await workspace_wording(conn, invoice.workspace_id)
    workspace = await select_workspace(conn, invoice.workspace_id)
    default_locale = workspace.default_locale if workspace is not None else None
    mail_ids = []
    for recipient in recipients:
        own_locale = customer.locale if customer is not None and recipient == customer_email else None
        texts = choose_texts(None, None, own_locale, invoice.locale, default_locale, overrides=wording)
        letter = letters.write("comment_reply", texts, number=invoice.number, comment=comment, thread_url=thread_url)
        mail_id = await insert_mail(
            conn, workspace_id=invoice.workspace_id, invoice_id=invoice.id, kind="comment_reply",
            recipient=recipient, subject=letter.subject, body=letter.body,
        )  # fmt: skip
        mail_ids.append(mail_id)
    return mail_ids


async def _tell_support(
    conn: Connection, invoice: Invoice, comment: Comment, thread_url: str, letters: Letters
) -> list[int]:
    """The billing team hears in the workspace's default language."""
    workspace = await select_workspace(conn, invoice.workspace_id)
    if workspace is None or not (workspace.support_email or workspace.email):
        return []
    texts = choose_texts(None, None, workspace.default_locale, overrides=await workspace_wording(conn, workspace.id))
    letter = letters.write("comment_posted", texts, number=invoice.number, comment=comment, thread_url=thread_url)
    mail_id = await insert_mail(
        conn, workspace_id=invoice.workspace_id, invoice_id=invoice.id, kind="comment_posted",
        recipient=workspace.support_email or workspace.email, subject=letter.subject, body=letter.body,
    )  # fmt: skip
    return [mail_id]
