"""What Stripe's payment events do to the ledger: the intent's status, refunds, and the invoice following them.

The webhook is the source of truth for "paid". An overpayment (two tabs both paid the full balance) is refunded
in the same transaction; if Stripe cannot be reached the transaction rolls back and the 503 makes Stripe send
the event again later (the refund's idempotency key prevents a second refund).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from db.payments import (
    Payment,
    apply_intent_status,
    apply_refunded_amount,
    lock_invoice_of_intent,
)
from db.rows import Connection
from web.payments.settlement import settle
from web.payments.status import PaymentStatus
from web.stripe.accounts import StripeAccount
from web.stripe.gateway import Intent, IntentStatus, PaymentRefused, StripeGateway
from web.stripe.webhooks import EventHandler, StripeEvent, amount_field, dict_field, text_field

log = logging.getLogger(__name__)


def card_of(intent: dict[str, Any]) -> tuple[str, str]:
    """Brand and last 4 when the event carries the charge (older API versions, or an expanded latest_charge)."""
    listed = dict_field(intent, "charges").get("data")
    charges = [intent.get("latest_charge"), *(listed if isinstance(listed, list) else [])]
    for charge in charges:
        if isinstance(charge, dict):
            card = dict_field(dict_field(charge, "payment_method_details"), "card")
            last4 = card.get("last4")
            # The ledger's check accepts exactly four digits (or nothing).
            if isinstance(last4, str) and len(last4) == 4 and last4.isascii() and last4.isdigit():
                return str(card.get("brand", ""))[:40], last4
    return "", ""


async def _intent_status(status: str, conn: Connection, account: StripeAccount, event: StripeEvent) -> str:
    intent = event.object
    intent_id = text_field(intent, "id")
    amount_received = amount_field(intent, "amount_received", 0) or amount_field(intent, "amount", 0)
    if not await _lock_invoice(conn, account, intent_id):
        return NOT_OURS
    brand, last4 = card_of(intent)
    payment = await apply_intent_status(
        conn, intent_id=intent_id, status=status, event_at=event.created_at, card_brand=brand, card_last4=last4,
        failure_message=str(dict_field(intent, "last_payment_error").get("message") or "")[:1000],
        amount_received=amount_received,
    )  # fmt: skip
    return await _settle(conn, account.gateway, payment)


async def _charge_refunded(conn: Connection, account: StripeAccount, event: StripeEvent) -> str:
    linked = event.object.get("payment_intent")
    if linked is None:
        return "no change"  # a charge made without a PaymentIntent: never one of ours
    intent_id = linked if isinstance(linked, str) else text_field(dict_field(event.object, "payment_intent"), "id")
    amount_refunded = amount_field(event.object, "amount_refunded")
    if not await _lock_invoice(conn, account, intent_id):
        return NOT_OURS
    payment = await apply_refunded_amount(conn, intent_id=intent_id, amount_refunded=amount_refunded)
    return await _settle(conn, account.gateway, payment)


# An intent of another account, or of another workspace using the same account: nothing here to change.
NOT_OURS = "not ours"


async def _lock_invoice(conn: Connection, account: StripeAccount, intent_id: str) -> bool:
    """Lock the invoice of the intent's payment, if the payment was made in `account` (and for a workspace's own
    account, on that workspace's invoice)."""
    invoice_id = await lock_invoice_of_intent(
        conn, intent_id, workspace_id=account.workspace_id, stripe_account_id=account.account_id
    )
    return invoice_id is not None


# Stripe's intent statuses as the events that report them (for an intent read from Stripe, not from an event).
_STATUS_EVENTS = {
    IntentStatus.SUCCEEDED: "payment_intent.succeeded",
    IntentStatus.PROCESSING: "payment_intent.processing",
    IntentStatus.CANCELED: "payment_intent.canceled",
}


async def record_intent(conn: Connection, account: StripeAccount, intent: Intent, now: datetime) -> str:
    """Apply an intent as just read from Stripe, the way its event would: for attempts whose events can no longer
    arrive (the workspace is forgetting the account). Call inside a transaction."""
    kind = _STATUS_EVENTS.get(IntentStatus(intent.status)) if intent.status in set(IntentStatus) else None
    if kind is None and intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD and intent.failure_message:
        kind = "payment_intent.payment_failed"
    if kind is None:
        return "no change"
    event = StripeEvent(id=f"read-{intent.id}", type=kind, created_at=now, object=intent.raw)
    return await EVENT_HANDLERS[kind](conn, account, event)


EVENT_HANDLERS: dict[str, EventHandler] = {
    "payment_intent.succeeded": partial(_intent_status, PaymentStatus.SUCCEEDED),
    "payment_intent.processing": partial(_intent_status, PaymentStatus.PROCESSING),
    "payment_intent.payment_failed": partial(_intent_status, PaymentStatus.FAILED),
    "payment_intent.canceled": partial(_intent_status, PaymentStatus.CANCELED),
    "charge.refunded": _charge_refunded,
}


async def _settle(conn: Connection, gateway: StripeGateway | None, payment: Payment | None) -> str:
    if payment is None:
        return "no change"  # not one of ours, or an older event than what we already know
    excess = await settle(conn, payment.invoice_id)
    if excess > 0:
        await _refund_excess(conn, gateway, payment, excess)
    return "applied"


async def _refund_excess(conn: Connection, gateway: StripeGateway | None, payment: Payment, excess: int) -> None:
    """Refund the overpaid part of `payment` (the row just written in this transaction). The refund stops at the
    invoice total, so the paid status that settle() set stays right."""
    if gateway is None or payment.status != PaymentStatus.SUCCEEDED or not payment.stripe_payment_intent_id:
        log.error("invoice %s is overpaid by %s and cannot be refunded automatically", payment.invoice_id, excess)
        return
    amount = min(excess, payment.amount - payment.amount_refunded)
    refunded = payment.amount_refunded + amount
    try:
        await gateway.refund(
            intent_id=payment.stripe_payment_intent_id, amount=amount, idempotency_key=f"excess-{payment.id}-{refunded}"
        )
    except PaymentRefused as refused:
        # Stripe will not refund it (the charge is gone, disputed, already refunded elsewhere): retrying the event
        # cannot change that, so the payment stands as recorded and a person settles the excess.
        log.error("invoice %s is overpaid by %s; Stripe refused the refund: %s", payment.invoice_id, excess, refused)
        return
    await apply_refunded_amount(conn, intent_id=payment.stripe_payment_intent_id, amount_refunded=refunded)
    log.warning("refunded %s on invoice %s: paid beyond its total", amount, payment.invoice_id)
