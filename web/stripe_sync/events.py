"""Stripe Invoicing's events, as triggers: whatever the event says, the invoice is retrieved from Stripe as it is
now and copied, so duplicated, late and shuffled events all end on Stripe's current state (a hash of what was
copied tells "unchanged"). The table here joins the payment events' (web/payments/ledger.py) into all the events
a workspace's webhook endpoint asks Stripe for.

Only a workspace's own account imports invoices: the deployment's account serves many workspaces, and nothing in
a Stripe invoice says which of them it belongs to.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from db.rows import Connection
from db.stripe_invoices import select_stripe_invoice_of_intent, update_customer_from_stripe, upsert_imported_invoice
from web.invoices.links import create_link
from web.payments.ledger import EVENT_HANDLERS
from web.stripe.accounts import StripeAccount
from web.stripe.gateway import PaymentRefused, ProviderUnavailable
from web.stripe.invoices import retrieve_customer, retrieve_invoice
from web.stripe.webhooks import EventHandler, EventRead, StripeEvent, text_field
from web.stripe_mirror.state import follow
from web.stripe_sync.copy import NotCopyable, copy_of, customer_details

log = logging.getLogger(__name__)

NO_WORKSPACE = "ignored: the deployment's account imports no invoices"


async def keep(conn: Connection, account: StripeAccount, invoice: dict[str, Any]) -> str:
    """Copy one invoice read from Stripe into the account's workspace: 'created', 'updated', 'unchanged' or
    'draft' (not shown until finalized), or for an invoice the portal issued in Stripe what following it did.
    Raises NotCopyable. Call inside a transaction."""
    assert account.workspace_id is not None and account.account_id is not None
    # The portal's own invoices issued in Stripe come back in its events and walks: followed, never imported.
    mirrored = await follow(conn, account.workspace_id, account.account_id, invoice)
    if mirrored is not None:
        return mirrored
    copied = copy_of(invoice, account.account_id)
    if copied is None:
        return "draft"
    try:
        async with conn.transaction():  # a savepoint: a refused insert leaves the caller's transaction usable
            outcome, invoice_id = await upsert_imported_invoice(conn, account.workspace_id, copied)
    except asyncpg.UniqueViolationError:
        raise NotCopyable(f"its number {copied.number} is already used by another invoice of this workspace") from None
    if outcome == "created":
        await create_link(conn, invoice_id)  # a link like any other invoice's, for the billing team to send
    return outcome


async def sync_invoice(pool: asyncpg.Pool, account: StripeAccount, stripe_invoice_id: str) -> str:
    """Retrieve one invoice from Stripe (no transaction open meanwhile) and keep it."""
    invoice = await retrieve_invoice(account.gateway, stripe_invoice_id)
    if invoice is None:
        return "not at Stripe"
    async with pool.acquire() as conn, conn.transaction():
        return await keep(conn, account, invoice)


@dataclass(frozen=True, slots=True)
class InvoiceRead:
    """An invoice event's read step: the invoice as Stripe has it now (None: not at Stripe, a deleted draft), or
    why Stripe would not show it."""

    invoice: dict[str, Any] | None
    refused: str = ""


async def _read_invoice(pool: asyncpg.Pool, account: StripeAccount, event: StripeEvent) -> InvoiceRead | None:
    if account.workspace_id is None:
        return None
    try:
        return InvoiceRead(await retrieve_invoice(account.gateway, text_field(event.object, "id")))
    except PaymentRefused as refused:
        # The key was rolled or lacks a permission: retrying cannot help; the reconciliation catches up once the
        # workspace connects again. (Stripe unreachable raises on: 503, and Stripe sends the event again.)
        log.warning("stripe invoice %s not read: %s", event.object.get("id"), refused)
        return InvoiceRead(None, str(refused))


async def _invoice_event(conn: Connection, account: StripeAccount, event: StripeEvent) -> str:
    read: InvoiceRead | None = event.read
    if account.workspace_id is None or read is None:
        return NO_WORKSPACE
    if read.refused:
        return f"not copied: Stripe refused to show it ({read.refused})"
    if read.invoice is None:
        return "not at Stripe"  # a deleted draft: it never appears
    try:
        return await keep(conn, account, read.invoice)
    except (NotCopyable, LookupError) as refused:  # LookupError: another workspace on the same account holds it
        # Retrying cannot change it: recorded (the event id stays) and logged for a person.
        log.warning("stripe invoice %s not copied: %s", read.invoice.get("id"), refused)
        return f"not copied: {refused}"


async def _customer_updated(conn: Connection, account: StripeAccount, event: StripeEvent) -> str:
    if account.workspace_id is None:
        return NO_WORKSPACE
    customer = await retrieve_customer(account.gateway, text_field(event.object, "id"))
    if customer is None:
        return "not at Stripe"
    details = customer_details(customer)
    changed = await update_customer_from_stripe(conn, account.workspace_id, str(customer["id"]), **details)
    return "applied" if changed else "no change"


_INVOICE_EVENTS = (
    "invoice.created", "invoice.finalized", "invoice.updated", "invoice.paid", "invoice.payment_succeeded",
    "invoice.payment_failed", "invoice.voided", "invoice.marked_uncollectible", "invoice.deleted",
)  # fmt: skip
INVOICE_EVENT_HANDLERS: dict[str, EventHandler] = dict.fromkeys(_INVOICE_EVENTS, _invoice_event)
INVOICE_EVENT_HANDLERS["customer.updated"] = _customer_updated


async def _invoice_paid_by(pool: asyncpg.Pool, account: StripeAccount, event: StripeEvent) -> dict[str, Any] | None:
    """A payment event's read step: the Stripe invoice its intent pays, as Stripe has it now (None: none, or Stripe
    would not say: the payment is applied all the same, and Stripe's own invoice event brings the copy up to
    date)."""
    intent_id = event.object.get("id") if event.type.startswith("payment_intent.") else None
    if account.workspace_id is None or not isinstance(intent_id, str):
        return None
    async with pool.acquire() as conn:
        stripe_invoice_id = await select_stripe_invoice_of_intent(conn, intent_id)
    if stripe_invoice_id is None:
        return None
    try:
        return await retrieve_invoice(account.gateway, stripe_invoice_id)
    except (PaymentRefused, ProviderUnavailable) as failed:
        log.warning("stripe invoice %s not read after a payment: %s", stripe_invoice_id, failed)
        return None


def _then_its_invoice(apply_payment: EventHandler) -> EventHandler:
    """A payment event, then the Stripe invoice that payment pays copied again at once: the customer's page shows
    Stripe's new amount remaining without waiting for Stripe's own invoice event (which then finds it unchanged)."""

    async def apply(conn: Connection, account: StripeAccount, event: StripeEvent) -> str:
        outcome = await apply_payment(conn, account, event)
        if event.read is not None:
            with contextlib.suppress(NotCopyable, LookupError):
                await keep(conn, account, event.read)
        return outcome

    return apply


# Every event a workspace's endpoint asks Stripe for, and how each is applied; what some read from Stripe first.
HANDLED_EVENTS: dict[str, EventHandler] = {
    **{kind: _then_its_invoice(handler) for kind, handler in EVENT_HANDLERS.items()},
    **INVOICE_EVENT_HANDLERS,
}
EVENT_READS: dict[str, EventRead] = {
    **dict.fromkeys(EVENT_HANDLERS, _invoice_paid_by),
    **dict.fromkeys(_INVOICE_EVENTS, _read_invoice),
}
