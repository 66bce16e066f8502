"""Confirming a card payment on the server, with the balance checked under the invoice lock right before money moves.

Two tabs paying the full balance at once: the first to confirm holds its amount; the second finds less due and is
lowered (its customer confirms the new amount) or, when nothing payable is left, its PaymentIntent is cancelled.
If both still succeed (a hold lapsed during a very long 3-D Secure check), the webhook refunds the excess.
The webhook alone records a payment as succeeded; this module only decides whether to confirm, and tells the
customer what Stripe answered.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from db.invoices import Invoice, select_invoice_for_update
from db.payments import (
    Payment,
    amount_held_by_others,
    end_attempt,
    hold_attempt,
    insert_card_attempt,
    lower_attempt,
    select_card_attempt,
    set_card_details,
)
from db.rows import Connection
from db.stripe_invoices import select_stripe_origin
from web.i18n.catalogs import ENGLISH
from web.i18n.message import Message, Money, msg, sentences
from web.invoices.documents import load_document
from web.invoices.status import InvoiceStatus
from web.payments.amounts import card_payable_due, rules_for
from web.payments.checkout import (
    ATTEMPT_KEY,
    PAYMENTS_OFF,
    TOO_MANY_ATTEMPTS,
    ensure_intent,
    other_way,
    under_attempt_limits,
)
from web.payments.declines import NOT_COMPLETED, decline_message
from web.payments.status import PaymentStatus
from web.stripe.accounts import StripeAccounts
from web.stripe.gateway import CardDeclined, Intent, IntentStatus, PaymentRefused, ProviderUnavailable, StripeGateway
from web.stripe_sync.copy import NotCopyable
from web.stripe_sync.events import sync_invoice

log = logging.getLogger(__name__)

# Long enough for a 3-D Secure challenge; after it a forgotten tab no longer blocks others.
HOLD_SECONDS = 15 * 60
CARD_TOKEN = re.compile(r"^tok_[A-Za-z0-9_]{1,200}$")
STRIPE_DOWN = msg(
    "The card payment service is not answering right now. Nothing was charged. Please try again in a moment."
)
ENTER_CARD = msg("Enter your card details.")
NOT_CHARGED = msg("Your card was not charged.")
# The workspace disconnected (or replaced) the Stripe account this attempt was made in.
CARD_GONE = msg("Online card payment is not available for this invoice.")


# Where confirming with a card can still happen; anything else has moved on at Stripe.
_CONFIRMABLE = (IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_CONFIRMATION)


class Step(StrEnum):
    CARD = "card"  # ask for the card (again), maybe with a message
    ACTION = "action"  # 3-D Secure: the browser finishes it with the client secret
    DONE = "done"  # succeeded or processing at Stripe; the webhook records it
    CLOSED = "closed"  # nothing to pay with this attempt any more


class AttemptNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Outcome:
    step: Step
    payment: Payment
    message: Message | None = None
    client_secret: str = ""
    processing: bool = False
    unavailable: bool = False  # Stripe did not answer: say "try again" (503)
    balance_changed: bool = False  # lowered to what is still due: the customer confirms again (409)


async def confirm_attempt(
    pool: asyncpg.Pool,
    accounts: StripeAccounts,
    *,
    invoice_id: int,
    attempt_key: str,
    card_token: str,
    now: datetime,
) -> Outcome:
    if not ATTEMPT_KEY.match(attempt_key):  # a key our forms never make (NUL, 200 characters, ...): no query
        raise AttemptNotFound(attempt_key[:64])
    await _fresh_from_stripe(pool, accounts, invoice_id)
    async with pool.acquire() as conn:
        async with conn.transaction():
            invoice = await select_invoice_for_update(conn, invoice_id)
            payment = await select_card_attempt(conn, invoice_id, attempt_key)
            if invoice is None or payment is None:
                raise AttemptNotFound(attempt_key)
            finished = _finished(payment)
            if finished is not None:
                return finished
            account = await accounts.for_payment(conn, invoice.workspace_id, payment.stripe_account_id)
            if account is None:
                return Outcome(Step.CLOSED, payment, CARD_GONE)
            gateway = account.gateway
            if not _held(payment, now) and not CARD_TOKEN.match(card_token):
                # Before any hold: a form sent without a usable card must not block other tabs.
                return Outcome(Step.CARD, payment, ENTER_CARD)
            decision, payment, message = await _check_balance(conn, invoice, payment, now)
        # Stripe is called only after the transaction: the invoice lock is never held across the network.
        try:
            return await _at_stripe(conn, gateway, invoice, payment, decision, message, card_token, now)
        except ProviderUnavailable:
            # Nothing is lost: the hold stays, and confirming again first asks Stripe what happened.
            return Outcome(Step.CARD, payment, STRIPE_DOWN, unavailable=True)


async def _fresh_from_stripe(pool: asyncpg.Pool, accounts: StripeAccounts, invoice_id: int) -> None:
    """For an invoice made in Stripe, its copy read again right before the balance check: a payment whose event
    is late (or lost) is already in Stripe's amount remaining, so nobody pays it twice. Best effort: when Stripe
    cannot say, the copy as it is (and the holds) decide."""
    async with pool.acquire() as conn:
        origin = await select_stripe_origin(conn, invoice_id)
        account = await accounts.own(conn, origin[0]) if origin is not None else None
    if origin is None or account is None:
        return
    try:
        await sync_invoice(pool, account, origin[1])
    except (PaymentRefused, ProviderUnavailable, NotCopyable, LookupError) as failed:
        log.warning("stripe invoice %s not read before a payment: %s", origin[1], failed)


async def _at_stripe(
    conn: Connection,
    gateway: StripeGateway,
    invoice: Invoice,
    payment: Payment,
    decision: str,
    message: Message | None,
    card_token: str,
    now: datetime,
) -> Outcome:
    if decision == "cancel":
        await _cancel(gateway, payment)
        return Outcome(Step.CLOSED, payment, message)
    if decision == "lower":
        return Outcome(Step.CARD, payment, message, balance_changed=True)
    intent: Intent | None = None
    try:
        if decision == "recheck":
            # This attempt was already being confirmed (a double click, or Stripe timed out): ask Stripe first.
            intent = await ensure_intent(conn, gateway, invoice, payment)
            if intent.status not in _CONFIRMABLE or intent.failure_message:
                return await _follow(conn, payment, intent, now)
            if not CARD_TOKEN.match(card_token):
                return Outcome(Step.CARD, payment, ENTER_CARD)
        # Confirming needs only the intent's id: ask Stripe for it only when this attempt has none yet.
        if intent is None and payment.stripe_payment_intent_id is None:
            intent = await ensure_intent(conn, gateway, invoice, payment)
        intent_id = intent.id if intent is not None else str(payment.stripe_payment_intent_id)
    except PaymentRefused:
        return Outcome(Step.CARD, payment, msg("The payment could not be set up. Please try again in a moment."))
    try:
        intent, card = await gateway.confirm_card(intent_id, card_token=card_token, amount=payment.amount)
    except CardDeclined as declined:
        return await _declined(conn, payment, decline_message(declined.code, declined.decline_code), now)
    except PaymentRefused:
        # Typically a second confirmation of an intent that has already moved on: show where it stands.
        return await _follow(conn, payment, await gateway.retrieve_intent(intent_id), now)
    await set_card_details(conn, payment.id, brand=card.brand, last4=card.last4)
    return await _follow(conn, payment, intent, now)


async def reconcile_attempt(
    pool: asyncpg.Pool, accounts: StripeAccounts, *, workspace_id: int, invoice_id: int, attempt_key: str, now: datetime
) -> Outcome:
    """The return path after 3-D Secure (or a reload): retrieve the intent and say where it stands."""
    if not ATTEMPT_KEY.match(attempt_key):
        raise AttemptNotFound(attempt_key[:64])
    async with pool.acquire() as conn:
        payment = await select_card_attempt(conn, invoice_id, attempt_key)
        if payment is None:
            raise AttemptNotFound(attempt_key)
        finished = _finished(payment)
        if finished is not None or not payment.stripe_payment_intent_id:
            return finished or Outcome(Step.CARD, payment)
        account = await accounts.holding(conn, workspace_id, payment.stripe_account_id)
        if account is None:
            return Outcome(Step.CLOSED, payment, CARD_GONE)
        try:
            intent = await account.gateway.retrieve_intent(payment.stripe_payment_intent_id)
        except ProviderUnavailable:
            return Outcome(Step.CARD, payment, STRIPE_DOWN, unavailable=True)
        return await _follow(conn, payment, intent, now)


def _held(payment: Payment, now: datetime) -> bool:
    return payment.attempt_held_until is not None and payment.attempt_held_until > now


def _finished(payment: Payment) -> Outcome | None:
    if payment.status == PaymentStatus.SUCCEEDED:
        return Outcome(Step.DONE, payment)
    if payment.status == PaymentStatus.PROCESSING:
        return Outcome(Step.DONE, payment, processing=True)
    if payment.status in (PaymentStatus.CANCELED, PaymentStatus.FAILED) and not payment.attempt_held_until:
        return Outcome(
            Step.CLOSED, payment, msg("This payment attempt has ended. Start a new payment if something is due.")
        )
    return None


async def _check_balance(
    conn: Connection, invoice: Invoice, payment: Payment, now: datetime
) -> tuple[str, Payment, Message | None]:
    """Inside the invoice lock: hold this attempt's amount, lower it to what is left, or cancel it."""
    if _held(payment, now):
        return "recheck", payment, None
    document = await load_document(conn, invoice)
    held = await amount_held_by_others(conn, invoice.id, payment.id, now)
    available = document.amount_due - held
    rules = rules_for(invoice.currency, available)
    payable = rules.largest_charge
    if invoice.status != InvoiceStatus.OPEN or not invoice.payments_enabled or not card_payable_due(rules):
        await end_attempt(conn, payment.id, status=PaymentStatus.CANCELED)
        if invoice.status == InvoiceStatus.VOID:
            return "cancel", payment, sentences(msg("This invoice was voided and cannot be paid."), NOT_CHARGED)
        if document.amount_due <= 0:
            return "cancel", payment, sentences(msg("This invoice has just been paid in full."), NOT_CHARGED)
        if not invoice.payments_enabled:
            # Switched off by the billing team after this attempt was started.
            return "cancel", payment, sentences(NOT_CHARGED, PAYMENTS_OFF)
        if not held:
            # Nobody else is paying: a payment recorded meanwhile left less than a card can pay.
            below = msg(
                "Only %(due)s is due now, below the smallest card payment (%(smallest)s), so it cannot be paid "
                "by card.",
                due=Money(available, invoice.currency), smallest=Money(rules.smallest_charge, invoice.currency),
            )  # fmt: skip
            return "cancel", payment, sentences(below, NOT_CHARGED, other_way(document))
        busy = msg(
            "Another payment for this invoice is being processed, so nothing more can be paid by card right now."
        )
        return "cancel", payment, sentences(busy, NOT_CHARGED)
    if payment.amount > payable:
        await lower_attempt(conn, payment.id, payable)
        amount = Money(payable, invoice.currency)
        # All that is left to pay, or less when part of it is a rest no card can pay (KWD 0.005).
        if payable == available:
            changed = msg("The balance changed while you were paying: %(amount)s is due now.", amount=amount)
        else:
            changed = msg(
                "The balance changed while you were paying: a card can pay at most %(amount)s now.", amount=amount
            )
        confirm = msg("Confirm to pay %(amount)s.", amount=amount)
        return (
            "lower",
            replace(payment, amount=payable, attempt_held_until=None),
            sentences(changed, NOT_CHARGED, confirm),
        )
    await hold_attempt(conn, payment.id, amount=payment.amount, until=now + timedelta(seconds=HOLD_SECONDS))
    return "confirm", payment, None


async def _follow(conn: Connection, payment: Payment, intent: Intent, now: datetime) -> Outcome:
    if intent.status == IntentStatus.SUCCEEDED:
        return Outcome(Step.DONE, payment)
    if intent.status == IntentStatus.PROCESSING:
        return Outcome(Step.DONE, payment, processing=True)
    if intent.status == IntentStatus.REQUIRES_ACTION and intent.client_secret:
        return Outcome(Step.ACTION, payment, client_secret=intent.client_secret)
    if intent.status == IntentStatus.CANCELED:
        await end_attempt(conn, payment.id, status=PaymentStatus.CANCELED)
        return Outcome(Step.CLOSED, payment, sentences(msg("This payment was cancelled."), NOT_CHARGED))
    # Back to requires_payment_method: declined, or 3-D Secure failed or was abandoned.
    if intent.failure_message or intent.failure_code:
        reason = decline_message(intent.failure_code, intent.decline_code)
    else:
        reason = NOT_COMPLETED
    return await _declined(conn, payment, reason, now)


async def _declined(conn: Connection, payment: Payment, message: Message, now: datetime) -> Outcome:
    """End this attempt (releasing its hold) and open a fresh one for the same amount, so the customer can simply
    try another card: one PaymentIntent per try keeps Stripe's record and ours one-to-one. The fresh attempt
    counts against the same limits as a new one, or declined cards would be a way around them (card testing)."""
    async with conn.transaction():
        # Lock order everywhere: the limits' advisory locks, then the invoice row, then payment rows (a webhook
        # takes the invoice, then the payment; a new attempt the limits, then the invoice through its foreign
        # key). Taking the invoice before ending this attempt keeps that order, so none of them can deadlock.
        may_retry = await under_attempt_limits(conn, invoice_id=payment.invoice_id, client=payment.client, now=now)
        await select_invoice_for_update(conn, payment.invoice_id)
        # The console reads the reason in English.
        await end_attempt(conn, payment.id, status=PaymentStatus.FAILED, failure_message=ENGLISH.say(message))
        if not may_retry:
            return Outcome(Step.CLOSED, payment, sentences(message, NOT_CHARGED, TOO_MANY_ATTEMPTS))
        fresh, _ = await insert_card_attempt(
            conn, invoice_id=payment.invoice_id, amount=payment.amount, currency=payment.currency,
            attempt_key=secrets.token_urlsafe(18), client=payment.client, now=now,
            stripe_account_id=payment.stripe_account_id,
        )  # fmt: skip
    retry = msg("You can try again or use another card.")
    return Outcome(Step.CARD, fresh, sentences(message, NOT_CHARGED, retry))


async def _cancel(gateway: StripeGateway, payment: Payment) -> None:
    if not payment.stripe_payment_intent_id:
        return
    try:
        await gateway.cancel_intent(payment.stripe_payment_intent_id)
    except (ProviderUnavailable, PaymentRefused):
        # Our row is already cancelled, so this intent is never confirmed by us; Stripe expires it in time.
        log.warning("could not cancel %s at Stripe", payment.stripe_payment_intent_id)
