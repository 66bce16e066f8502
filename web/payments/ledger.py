"""Applying Stripe webhook events: each event id once, in any order, inside one transaction with its effects.

The webhook is the source of truth for "paid". An overpayment (two tabs both paid the full balance) is refunded
in the same transaction; if Stripe cannot be reached the transaction rolls back and the 503 makes Stripe send
the event again later (the refund's idempotency key prevents a second refund).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from db.payments import (
    Payment,
    apply_intent_status,
    apply_refunded_amount,
    lock_invoice_of_intent,
    record_stripe_event,
)
from web.payments.settlement import settle
from web.stripe.gateway import StripeGateway

log = logging.getLogger(__name__)

INTENT_STATUSES = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.processing": "processing",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
}
HANDLED_TYPES = frozenset({*INTENT_STATUSES, "charge.refunded"})


def _card(intent: dict[str, Any]) -> tuple[str, str]:
    """Brand and last 4 when the event carries the charge (older API versions, or an expanded latest_charge)."""
    charges = [intent.get("latest_charge"), *((intent.get("charges") or {}).get("data") or [])]
    for charge in charges:
        if isinstance(charge, dict):
            card = (charge.get("payment_method_details") or {}).get("card") or {}
            if card.get("last4"):
                return str(card.get("brand", "")), str(card["last4"])
    return "", ""


async def apply_event(pool: asyncpg.Pool, gateway: StripeGateway | None, event: dict[str, Any]) -> str:
    """Apply one verified event; return what happened (for logs and tests)."""
    event_type = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    event_at = datetime.fromtimestamp(int(event.get("created") or 0), UTC)
    async with pool.acquire() as conn, conn.transaction():
        if not await record_stripe_event(conn, str(event["id"]), event_type):
            return "duplicate"
        if event_type not in HANDLED_TYPES:
            return "ignored"
        payment: Payment | None
        intent_id = str(obj.get("payment_intent") or "") if event_type == "charge.refunded" else str(obj["id"])
        await lock_invoice_of_intent(conn, intent_id)
        if event_type == "charge.refunded":
            payment = await apply_refunded_amount(
                conn, intent_id=intent_id, amount_refunded=int(obj["amount_refunded"])
            )
        else:
            brand, last4 = _card(obj)
            error = obj.get("last_payment_error") or {}
            payment = await apply_intent_status(
                conn, intent_id=intent_id, status=INTENT_STATUSES[event_type], event_at=event_at,
                card_brand=brand, card_last4=last4, failure_message=str(error.get("message") or ""),
                amount_received=int(obj.get("amount_received") or obj.get("amount") or 0),
            )  # fmt: skip
        if payment is None:
            return "no change"  # not one of ours, or an older event than what we already know
        excess = await settle(conn, payment.invoice_id)
        if excess > 0:
            await _refund_excess(conn, gateway, payment, excess)
        return "applied"


async def _refund_excess(
    conn: asyncpg.Connection, gateway: StripeGateway | None, payment: Payment, excess: int
) -> None:
    """Refund the overpaid part of `payment` (the row just written in this transaction). The refund stops at the
    invoice total, so the paid status that settle() set stays right."""
    if gateway is None or payment.status != "succeeded" or not payment.stripe_payment_intent_id:
        log.error("invoice %s is overpaid by %s and cannot be refunded automatically", payment.invoice_id, excess)
        return
    amount = min(excess, payment.amount - payment.amount_refunded)
    refunded = payment.amount_refunded + amount
    await gateway.refund(
        intent_id=payment.stripe_payment_intent_id, amount=amount, idempotency_key=f"excess-{payment.id}-{refunded}"
    )
    await apply_refunded_amount(conn, intent_id=payment.stripe_payment_intent_id, amount_refunded=refunded)
    log.warning("refunded %s on invoice %s: paid beyond its total", amount, payment.invoice_id)
