"""Sending a draft: the next gapless number, seller and buyer snapshots, a portal link, the e-mail to the
customer and the activity entry, all in the caller's transaction (the mail leaves after it commits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from db.activity import insert_activity
from db.customers import select_customer
from db.invoices import Invoice, issue_invoice, select_invoice_lines
from db.links import PortalLink
from db.rows import Connection
from db.staff import Staff
from db.stripe_mirrors import issues_invoices_in, queue_issue
from web.i18n.letters import Letters
from web.invoices.link_mail import mail_link
from web.invoices.links import create_link
from web.invoices.totals import compute_totals

SENT = "sent"
DEFAULT_PAYMENT_DAYS = 30
# The largest total an invoice may have, in minor units (the lines' own limit): payments, refunds and the
# ledger stay far inside bigint, and no amount a customer or teammate types can overflow it.
MAX_TOTAL = 999_999_999_999


class SendRefused(Exception):
    """str() says what to fix before the invoice can be sent."""


@dataclass(frozen=True, slots=True)
class Sent:
    invoice: Invoice
    link: PortalLink
    mail_ids: list[int]
    # Also to be issued in the workspace's Stripe account (its first step is in the outbox, applied after commit).
    in_stripe: bool = False


async def send_draft(
    conn: Connection,
    draft: Invoice,
    *,
    staff: Staff,
    today: date,
    link_url: Callable[[str], str],
    letters: Letters,
) -> Sent:
    """`draft` must be locked by the caller's transaction (db.invoices.lock_invoice_in_workspace); `link_url` makes
    the public URL of a link from its token."""
    lines = await select_invoice_lines(conn, draft.id)
    if not lines:
        raise SendRefused("Add at least one line before sending.")
    totals = compute_totals(lines, draft.currency)
    if totals.total <= 0:
        raise SendRefused("The total must be more than zero. For a credit, void the original invoice instead.")
    if totals.total > MAX_TOTAL:
        raise SendRefused("The total is larger than one invoice can carry. Split it into several invoices.")
    customer = await select_customer(conn, draft.workspace_id, draft.customer_id)
    if customer is None or not customer.email:
        raise SendRefused("The customer has no e-mail address. Add one to the customer, then send.")
    issue_date = draft.issue_date or today
    due_date = draft.due_date or issue_date + timedelta(days=DEFAULT_PAYMENT_DAYS)
    if due_date < issue_date:
        raise SendRefused("The due date cannot be before the issue date.")
    issued = await issue_invoice(conn, draft.id, issue_date=issue_date, due_date=due_date, total=totals.total)
    link = await create_link(conn, draft.id)
    mail_id = await mail_link(
        conn, issued, link, recipient=customer.email, link_url=link_url, total=totals.total, letters=letters
    )
    await insert_activity(conn, draft.id, SENT, {"to": customer.email, "by": staff.email})
    stripe_account = await issues_invoices_in(conn, draft.workspace_id)
    if stripe_account is not None:
        await queue_issue(conn, draft.id, draft.workspace_id, stripe_account)
    return Sent(issued, link, [mail_id], in_stripe=stripe_account is not None)
