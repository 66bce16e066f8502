"""Before the portal forgets a Stripe account's key (the workspace disconnects it or connects another account), the
card attempts still under way in that account are settled with Stripe: cancelled, or, when the customer's payment
already went through, recorded as Stripe has it. Their events could no longer arrive (the endpoint goes with the
key), and a charged customer must never be left unrecorded.

Cancelling first also closes the race with a customer confirming at that moment: Stripe handles one call on an
intent at a time, so the confirmation either went through (and is recorded here) or is refused (never charged).
"""

from __future__ import annotations

import asyncpg

from db.payments import select_open_card_intents
from web.payments.ledger import record_intent
from web.state import utc_now
from web.stripe.accounts import StripeAccount
from web.stripe.gateway import PaymentRefused


async def settle_attempts_before_forgetting(pool: asyncpg.Pool, account: StripeAccount, workspace_id: int) -> int:
    """How many attempts were settled. Raises ProviderUnavailable when Stripe cannot be asked: the caller then
    keeps the key (nothing is forgotten)."""
    if account.account_id is None:
        return 0  # the deployment's account stays: its events still arrive at /webhooks/stripe
    async with pool.acquire() as conn:
        under_way = await select_open_card_intents(conn, workspace_id, account.account_id)
        for _payment_id, intent_id in under_way:
            try:
                intent = await account.gateway.cancel_intent(intent_id)
            except PaymentRefused:
                # Succeeded or processing: no longer cancellable. What Stripe has is what we record.
                intent = await account.gateway.retrieve_intent(intent_id)
            async with conn.transaction():
                await record_intent(conn, account, intent, utc_now())
    return len(under_way)
