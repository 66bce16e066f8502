"""What billing does to a sent invoice: void, write off, record a payment received outside Stripe, resend the link,
and the portal access of the invoice (link expiry, revoke, a new link, what the customer's page offers).

Each runs inside the caller's transaction on the invoice row it locked (web.console.invoice_page.locked_invoice),
so actions on one invoice queue, and each logs who did it. A repeat of a done action changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from db.activity import insert_activity
from db.customers import select_customer
from db.invoices import Invoice, mark_uncollectible, set_comment_settings, set_payments_enabled, void_invoice
from db.links import revoke_invoice_link, set_link_expiry
from db.payments import insert_settled_payment
from db.rows import Connection
from db.session import set_actor
from web.i18n.letters import Letters
from web.i18n.message import msg
from web.invoices.documents import load_document
from web.invoices.link_mail import mail_link
from web.invoices.links import live_link, replace_links
from web.invoices.status import UNPAID
from web.payments.amounts import AmountError, parse_received_amount
from web.payments.settlement import settle

PAYMENT_METHODS = ("bank_transfer", "other")


class ActionRefused(Exception):
    """str() says why the invoice cannot take this action now (409)."""


async def void(conn: Connection, invoice: Invoice, *, reason: str, by: str) -> bool:
    """False when the invoice is not unpaid any more (paid, void already): nothing changes."""
    if invoice.status not in UNPAID:
        return False
    await void_invoice(conn, invoice.id, reason)
    await insert_activity(conn, invoice.id, "voided", {"reason": reason, "by": by})
    return True


async def write_off(conn: Connection, invoice: Invoice, *, by: str) -> bool:
    """Open -> uncollectible; False when it was not open."""
    if await mark_uncollectible(conn, invoice.id) is None:
        return False
    await insert_activity(conn, invoice.id, "marked_uncollectible", {"by": by})
    return True


async def received_amount(conn: Connection, invoice: Invoice, text: str, formats: str) -> int:
    """The typed amount of a payment received, in minor units: partial is fine, more than is due is not. `formats`:
    the teammate's (their decimal symbol). Raises AmountError with the message for the field."""
    if invoice.status not in UNPAID:
        raise AmountError(msg("Only an open or uncollectible invoice can receive a payment."))
    document = await load_document(conn, invoice)
    return parse_received_amount(text, invoice.currency, document.amount_due, formats)


async def record_payment(
    conn: Connection, invoice: Invoice, *, amount: int, method: str, reference: str, by: str
) -> None:
    # Read by the payment activity trigger (migration 0008): the log says who recorded it.
    await set_actor(conn, by)
    await insert_settled_payment(
        conn, invoice_id=invoice.id, amount=amount, currency=invoice.currency, method=method, reference=reference
    )
    await settle(conn, invoice.id)


async def resend_link(
    conn: Connection, invoice: Invoice, *, now: datetime, link_url: Callable[[str], str], by: str, letters: Letters
) -> int:
    """Mail the customer the live link again (a new one if none is live); returns the outbox id to deliver."""
    customer = await select_customer(conn, invoice.workspace_id, invoice.customer_id)
    if invoice.status not in UNPAID or customer is None or not customer.email:
        raise ActionRefused("Only an unpaid invoice whose customer has an e-mail address can be resent.")
    link = await live_link(conn, invoice.id, now) or await replace_links(conn, invoice.id)
    document = await load_document(conn, invoice)
    mail_id = await mail_link(
        conn, invoice, link, recipient=customer.email, total=document.totals.total, again=True, link_url=link_url,
        letters=letters,
    )  # fmt: skip
    await insert_activity(conn, invoice.id, "sent", {"to": customer.email, "by": by, "again": True})
    return mail_id


async def set_expiry(conn: Connection, invoice: Invoice, link_id: int, expires_at: datetime | None) -> bool:
    """False when the link is not one of this invoice's live links."""
    return await set_link_expiry(conn, invoice.id, link_id, expires_at) is not None


async def revoke(conn: Connection, invoice: Invoice, link_id: int, *, by: str) -> bool:
    """False when the link is not one of this invoice's."""
    if await revoke_invoice_link(conn, invoice.id, link_id) is None:
        return False
    await insert_activity(conn, invoice.id, "link_revoked", {"by": by})
    return True


async def new_link(conn: Connection, invoice: Invoice, *, by: str) -> None:
    """A new link; every older one stops working (it then shows Invoice Not Found)."""
    await replace_links(conn, invoice.id)
    await insert_activity(conn, invoice.id, "link_replaced", {"by": by})


async def set_access(
    conn: Connection, invoice: Invoice, *, payments: bool, comments: bool, mode: str, require_totp: bool
) -> None:
    """What the customer's page offers. Every change is announced by the database triggers, so cached pages and
    open streams follow at once."""
    if payments != invoice.payments_enabled:
        await set_payments_enabled(conn, invoice.id, payments)
    await set_comment_settings(conn, invoice.id, mode=mode, require_totp=require_totp, enabled=comments)
