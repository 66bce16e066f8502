"""What Stripe's payment events do to the ledger: the intent's status, refunds, and the invoice following them.

The webhook is the source of truth for "paid". An overpayment (two tabs both paid the full balance) is refunded
in the same transaction; if Stripe cannot be reached the transaction rolls back and the 503 makes Stripe send
the event again later (the refund's idempotency key prevents a second refund).
"""

from __future__ import annotations

import logging
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
from web.stripe.gateway import StripeGateway
from web.stripe.webhooks import EventHandler, StripeEvent

log = logging.getLogger(__name__)


def _card(intent: dict[str, Any]) -> tuple[str, str]:
    """Brand and last 4 when the event carries the charge (older API versions, or an expanded latest_charge)."""
    charges = [intent.get("latest_charge"), *((intent.get("charges") or {}).get("data") or [])]
    for charge in charges:
        if isinstance(charge, dict):
            card = (charge.get("payment_method_details") or {}).get("card") or {}
            if card.get("last4"):
                return str(card.get("brand", "")), str(card["last4"])
    return "", ""


async def _intent_status(status: str, conn: Connection, gateway: StripeGateway | None, event: StripeEvent) -> str:
    intent = event.object
    intent_id = str(intent["id"])
    await lock_invoice_of_intent(conn, intent_id)
    brand, last4 = _card(intent)
    error = intent.get("last_payment_error") or {}
    payment = await apply_intent_status(
        conn, intent_id=intent_id, status=status, event_at=event.created_at, card_brand=brand, card_last4=last4,
        failure_message=str(error.get("message") or ""),
        amount_received=int(intent.get("amount_received") or intent.get("amount") or 0),
    )  # fmt: skip
    return await _settle(conn, gateway, payment)


async def _charge_refunded(conn: Connection, gateway: StripeGateway | None, event: StripeEvent) -> str:
    intent_id = str(event.object.get("payment_intent") or "")
    await lock_invoice_of_intent(conn, intent_id)
    payment = await apply_refunded_amount(
        conn, intent_id=intent_id, amount_refunded=int(event.object["amount_refunded"])
    )
    return await _settle(conn, gateway, payment)


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
    await gateway.refund(
        intent_id=payment.stripe_payment_intent_id, amount=amount, idempotency_key=f"excess-{payment.id}-{refunded}"
    )
    await apply_refunded_amount(conn, intent_id=payment.stripe_payment_intent_id, amount_refunded=refunded)
    log.warning("refunded %s on invoice %s: paid beyond its total", amount, payment.invoice_id)
