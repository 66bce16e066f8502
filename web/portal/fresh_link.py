""" "E-mail me a fresh link", offered on the Invoice Not Found page (Stripe's hosted invoice page does the same).

A new link is mailed only when the address is the one the invoice was sent to and the link had merely expired: a
link the billing team revoked is never revived, and an unknown token, a live link or another address change
nothing. The reader's answer is the same sentence, status and (the mail leaving after the response) time in every
case, so the page says nothing about which tokens or addresses exist. Every request is counted, granted or not,
per link, per address and per client; the counts are read inside the transaction that writes, under locks on
those names, so requests sent at the same moment cannot all slip under a limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from db.activity import insert_activity
from db.fresh_links import (
    LinkOnRecord,
    count_fresh_link_requests,
    insert_fresh_link_request,
    select_link_on_record,
)
from db.invoices import select_invoice_in_workspace
from db.rows import Connection
from db.session import lock_names_for_transaction
from web.i18n.letters import Letters
from web.i18n.message import Refusal, msg
from web.invoices.documents import load_document
from web.invoices.link_mail import mail_link
from web.invoices.links import create_link, token_hash
from web.mail import is_address

RATE_WINDOW = timedelta(hours=1)
MAX_PER_LINK = 3
MAX_PER_EMAIL = 5
MAX_PER_CLIENT = 10
# A fresh link lives as long as the one it replaces was meant to, and never less than a day.
SHORTEST_LIFETIME = timedelta(days=1)
MAX_TOKEN_LENGTH = 128

SENT = msg(
    "If this is the address the invoice was sent to and its link has expired, we have e-mailed a new link to it. "
    "It can take a few minutes to arrive."
)


class FreshLinkRefused(Refusal):
    """Said in the form (422); it never depends on the token or whose address it is."""


def clean_address(text: str) -> str:
    email = text.strip().lower()
    if not email:
        raise FreshLinkRefused(msg("Please give the e-mail address the invoice was sent to."))
    if len(email) > 254 or not is_address(email):
        raise FreshLinkRefused(msg("That does not look like an e-mail address (name@example.com)."))
    return email


async def request_fresh_link(
    conn: Connection,
    *,
    token: str,
    email_text: str,
    client: str,
    now: datetime,
    link_url: Callable[[str], str],
    letters: Letters,
) -> int | None:
    """Count the request and, when it qualifies, make a new link and write its mail; the outbox id to deliver after
    commit (None: nothing to send, which the reader must not be able to tell). Raises FreshLinkRefused."""
    email = clean_address(email_text)
    digest = token_hash(token[:MAX_TOKEN_LENGTH])
    found = await select_link_on_record(conn, digest) if len(token) <= MAX_TOKEN_LENGTH else None
    link_id = found.link_id if found is not None else None
    async with conn.transaction():
        await lock_names_for_transaction(
            conn, f"fresh-link:{digest.hex()}", f"fresh-link-email:{email}", f"fresh-link-client:{client}"
        )
        counts = await count_fresh_link_requests(
            conn, link_id=link_id, email=email, client=client, since=now - RATE_WINDOW
        )
        if counts.for_link >= MAX_PER_LINK or counts.for_email >= MAX_PER_EMAIL or counts.for_client >= MAX_PER_CLIENT:
            raise FreshLinkRefused(msg("Too many new links were asked for. Please try again in an hour."))
        granted = found is not None and _renewable(found, email, now)
        await insert_fresh_link_request(conn, link_id=link_id, email=email, client=client, granted=granted, now=now)
        if not granted or found is None:
            return None
        return await _send_new_link(conn, found, email, now, link_url, letters)


def _renewable(link: LinkOnRecord, email: str, now: datetime) -> bool:
    expired = link.expires_at is not None and link.expires_at <= now
    return (
        expired
        and link.revoked_at is None
        and link.invoice_status != "draft"
        and link.customer_email.strip().lower() == email
    )


async def _send_new_link(
    conn: Connection, found: LinkOnRecord, email: str, now: datetime, link_url: Callable[[str], str], letters: Letters
) -> int:
    invoice = await select_invoice_in_workspace(conn, found.workspace_id, found.invoice_id)
    assert invoice is not None and found.expires_at is not None
    lifetime = max(found.expires_at - found.created_at, SHORTEST_LIFETIME)
    link = await create_link(conn, invoice.id, expires_at=now + lifetime)
    document = await load_document(conn, invoice)
    mail_id = await mail_link(
        conn, invoice, link, recipient=email, link_url=link_url, total=document.totals.total, letters=letters,
        again=True,
    )  # fmt: skip
    await insert_activity(conn, invoice.id, "fresh_link_sent", {"to": email})
    return mail_id
