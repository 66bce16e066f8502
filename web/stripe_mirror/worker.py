"""Applying the outbox of Stripe steps (db/stripe_mirrors.py): right after the console's action commits (a
background task of its response), and every few seconds for what is waiting (a payment's step written by the
webhook, a retry after Stripe was down), in every process: a step is leased before it is taken, so two processes
never take the same one, and each invoice's steps go in order (a void never reaches Stripe before the issue).

Stripe unreachable: the step is retried later, each time waiting longer (up to an hour). Stripe refused: the step
stops, with Stripe's reason on the invoice's console page, until a person asks again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg

from db.stripe_mirrors import (
    MAX_UNEXPECTED,
    MirrorTask,
    fail_task,
    finish_task,
    save_stripe_state,
    select_mirror,
    select_waiting_invoices,
    take_next_task,
)
from web.stripe.accounts import StripeAccounts
from web.stripe.gateway import ProviderUnavailable
from web.stripe_mirror.state import stripe_state
from web.stripe_mirror.steps import MirrorRefused, apply

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
NOT_CONNECTED = (
    "The Stripe account this invoice was issued in is no longer connected to the workspace. Connect it again, "
    "then retry."
)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to an hour between tries."""
    delay: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 12)
    return min(delay, LAST_RETRY)


async def run_invoice(pool: asyncpg.Pool, accounts: StripeAccounts, invoice_id: int) -> int:
    """Apply the invoice's due steps in order until one fails or none is due; how many were done."""
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            task = await take_next_task(conn, invoice_id)
        if task is None or not await _run(pool, accounts, task):
            return done
        done += 1


async def _run(pool: asyncpg.Pool, accounts: StripeAccounts, task: MirrorTask) -> bool:
    async with pool.acquire() as conn:
        mirror = await select_mirror(conn, task.invoice_id)
        assert mirror is not None  # a task's row references its mirror
        account = await accounts.own(conn, mirror.workspace_id)
    try:
        if account is None or account.account_id != mirror.account_id:
            raise MirrorRefused(NOT_CONNECTED)
        answer = await apply(pool, account.gateway, mirror, task)
    except MirrorRefused as refused:
        log.warning("invoice %s: Stripe step %s stopped: %s", task.invoice_id, task.kind, refused)
        return await _failed(pool, task, str(refused), None)
    except ProviderUnavailable:
        return await _failed(pool, task, "Stripe did not answer; retried automatically.", retry_delay(task.attempts))
    except Exception:
        log.exception("invoice %s: Stripe step %s failed", task.invoice_id, task.kind)
        if task.attempts >= MAX_UNEXPECTED:  # a bug, not an outage: retrying on its own will not mend it
            return await _failed(pool, task, "Failed in an unexpected way several times; see the logs.", None)
        return await _failed(pool, task, "An unexpected error; retried automatically.", retry_delay(task.attempts))
    async with pool.acquire() as conn, conn.transaction():
        if not await finish_task(conn, task):
            log.warning(
                "invoice %s: Stripe step %s outran its lease; its new taker records it", task.invoice_id, task.kind
            )
            return False
        await save_stripe_state(conn, task.invoice_id, stripe_state(answer))
    return True


async def _failed(pool: asyncpg.Pool, task: MirrorTask, error: str, retry_in: timedelta | None) -> bool:
    async with pool.acquire() as conn:
        await fail_task(conn, task, error, retry_in=retry_in)
    return False


async def run_waiting(pool: asyncpg.Pool, accounts: StripeAccounts) -> int:
    """One round over every invoice with a step due; how many steps were done."""
    async with pool.acquire() as conn:
        invoice_ids = await select_waiting_invoices(conn, limit=200)
    done = 0
    for invoice_id in invoice_ids:
        done += await run_invoice(pool, accounts, invoice_id)
    return done


async def kick(pool: asyncpg.Pool, accounts: StripeAccounts, invoice_id: int) -> None:
    """After a console action commits (a response's background task): its step now, not at the next round."""
    try:
        await run_invoice(pool, accounts, invoice_id)
    except Exception:  # the round retries it; the response has gone already
        log.exception("invoice %s: Stripe steps not applied now", invoice_id)


async def run_forever(pool: asyncpg.Pool, accounts: StripeAccounts, seconds: float) -> None:
    """The app's background loop (cancelled when it stops)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_waiting(pool, accounts)
        except Exception:  # the database away for a moment must not end the loop
            log.exception("Stripe mirror round failed")
