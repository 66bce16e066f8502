"""A comment thread as the support team sees it: every comment, which ones wait for an answer, the writers' verified
addresses, whether it is handled, and the link a reply's e-mail points to."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from db.activity import insert_activity
from db.comment_access import delete_enrolment
from db.comments import select_comments, select_thread_addresses
from db.customers import select_customer
from db.inbox import mark_thread_handled, select_newest_comment_id
from db.invoices import Invoice
from db.links import select_links_for_invoice
from db.rows import Connection
from web.console.fields import Form
from web.invoices.links import newest_live

TOTP_RESET = "totp_reset"


async def thread_context(conn: Connection, invoice: Invoice, now: datetime) -> dict[str, Any]:
    comments = await select_comments(conn, invoice.id)
    writers = await select_thread_addresses(conn, invoice.id)
    customer = await select_customer(conn, invoice.workspace_id, invoice.customer_id)
    links = await select_links_for_invoice(conn, invoice.id)
    last_reply = max((c.id for c in comments if c.author_role == "staff"), default=0)
    answered_through = max(invoice.thread_handled_through, last_reply)
    return {
        "invoice": invoice,
        "customer": customer,
        "comments": comments,
        "writers": sorted(writers),
        "waiting": {c.id for c in comments if c.author_role != "staff" and c.id > answered_through},
        # Marked after the last reply (a reply marks through itself: that reads "Answered").
        "handled": invoice.thread_handled_through > last_reply,
        "newest_id": comments[-1].id if comments else 0,
        "live_link": newest_live(links, now),
    }


async def mark_handled(conn: Connection, invoice: Invoice, *, shown: str) -> None:
    """Handled through the newest comment the page showed (`shown`, its id as posted), never past what exists: a
    comment that arrived after the page was drawn keeps the thread open."""
    newest = await select_newest_comment_id(conn, invoice.id)
    through = min(int(shown), newest) if shown.isascii() and shown.isdigit() and len(shown) <= 18 else newest
    await mark_thread_handled(conn, invoice.id, through)


async def reset_writer_totp(conn: Connection, invoice: Invoice, email: str, *, by: str) -> bool | None:
    """Delete a writer's authenticator enrolment: only for an address that wrote in this thread (the thread is
    what makes it this team's business). None: it did not write here; False: it had no enrolment."""
    if email not in await select_thread_addresses(conn, invoice.id):
        return None
    async with conn.transaction():
        deleted = await delete_enrolment(conn, invoice.workspace_id, email)
        if deleted:
            await insert_activity(conn, invoice.id, TOTP_RESET, {"email": email, "by": by})
    return deleted


def fresh_reply() -> Form:
    # A new key per form shown: a double submit (or a retry) of this form posts once.
    return Form({"body": "", "client_key": secrets.token_urlsafe(18)})
