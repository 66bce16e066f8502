"""A comment thread as the support team sees it: every comment, which ones wait for an answer, the writers' verified
addresses, whether it is handled, and the link a reply's e-mail points to."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from db.comments import select_comments, select_thread_addresses
from db.customers import select_customer
from db.invoices import Invoice
from db.links import select_links_for_invoice
from db.rows import Connection
from web.console.fields import Form
from web.invoices.links import newest_live


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


def fresh_reply() -> Form:
    # A new key per form shown: a double submit (or a retry) of this form posts once.
    return Form({"body": "", "client_key": secrets.token_urlsafe(18)})
