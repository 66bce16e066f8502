"""Syncs that run beside the requests: the console's *Sync now* (one backfill in the background, its progress read
from stripe_syncs), and the periodic reconciliation that catches what events missed. Every STRIPE_RECONCILE_MINUTES
each connected workspace's recent invoices are walked again (a repeat changes nothing), and its webhook endpoint
is made to ask for every event type the portal handles (one created before an upgrade asked for fewer).

Several processes may run it: the backfill's lock lets one walk a workspace at a time; the others skip it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import date, timedelta

import asyncpg

from db.stripe_connections import StripeConnection, select_all_stripe_connections
from web.stripe.accounts import StripeAccount, StripeAccounts
from web.stripe.gateway import PaymentRefused, ProviderUnavailable
from web.stripe_sync.backfill import SyncAlreadyRunning, backfill
from web.stripe_sync.events import HANDLED_EVENTS

log = logging.getLogger(__name__)

# How far back the reconciliation looks: an event Stripe could not deliver is retried for three days.
RECONCILE_DAYS = 3
_RUNNING: set[asyncio.Task[None]] = set()  # held, so a task nobody awaits is not collected mid-run


def start_sync(pool: asyncpg.Pool, account: StripeAccount) -> None:
    """Sync the account's workspace in the background (the console polls stripe_syncs for its progress)."""
    task = asyncio.create_task(_quietly(backfill(pool, account)))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def reconcile_once(pool: asyncpg.Pool, accounts: StripeAccounts, today: date) -> int:
    """Walk every connected workspace's recent invoices once; how many workspaces were walked."""
    async with pool.acquire() as conn:
        connections = await select_all_stripe_connections(conn)
    walked = 0
    for connection in connections:
        # Each workspace on its own: one whose key or endpoint fails never holds the others back.
        try:
            await _widen_endpoint(accounts, connection)
            await backfill(pool, accounts.connected(connection), since=today - timedelta(days=RECONCILE_DAYS))
            walked += 1
        except SyncAlreadyRunning:
            continue  # another process (or a Sync now) is walking it
        except (ProviderUnavailable, PaymentRefused) as failed:
            log.warning("workspace %s: Stripe reconciliation failed: %s", connection.workspace_id, failed)
        except Exception:
            log.exception("workspace %s: Stripe reconciliation failed", connection.workspace_id)
    return walked


async def _widen_endpoint(accounts: StripeAccounts, connection: StripeConnection) -> None:
    admin = accounts.admin_for_key(accounts.opened_key(connection))
    try:
        if await admin.enable_events(connection.webhook_endpoint_id, sorted(HANDLED_EVENTS)):
            log.info("workspace %s: its Stripe endpoint now asks for every event type", connection.workspace_id)
    except (ProviderUnavailable, PaymentRefused) as failed:
        # Deleted in the Dashboard, or a restricted key: the settings page says so; the walk goes on.
        log.warning("workspace %s: Stripe endpoint not widened: %s", connection.workspace_id, failed)
    finally:
        await admin.close()


async def reconcile_forever(pool: asyncpg.Pool, accounts: StripeAccounts, minutes: float) -> None:
    """The app's background loop (cancelled when it stops)."""
    while True:
        await asyncio.sleep(minutes * 60)
        try:
            await reconcile_once(pool, accounts, date.today())
        except Exception:  # one bad round (the database away) must not end the loop
            log.exception("Stripe reconciliation round failed")


async def stop_syncs() -> None:
    """At shutdown: the background syncs are cancelled (each resumes on its next run) and awaited, so the pool
    they hold connections of can close."""
    tasks = list(_RUNNING)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _quietly(sync: Awaitable[object]) -> None:
    try:
        await sync
    except SyncAlreadyRunning:
        log.info("a Stripe sync was asked for while one runs: that one goes on")
    except ProviderUnavailable:
        log.warning("Stripe sync stopped: Stripe unreachable (it resumes on the next run)")
    except Exception:
        log.exception("Stripe sync failed (it resumes on the next run)")
