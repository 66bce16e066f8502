"""The backfill (invoice-portal stripe-sync, the console's Sync now): every invoice of the workspace's Stripe
account, newest first, 100 a page, each copied like an event's (web/stripe_sync/events.py), so running it twice
changes nothing the second time. After each page its cursor and counts are saved: a run that stops (Stripe down,
Ctrl+C, a deploy) resumes after the last whole page. One run per workspace at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import asyncpg

from db.stripe_invoices import (
    StripeSync,
    save_sync_progress,
    start_or_resume_sync,
    try_lock_sync,
    unlock_sync,
)
from web.stripe.accounts import StripeAccount
from web.stripe.gateway import PaymentRefused
from web.stripe.invoices import complete_invoice, list_invoices
from web.stripe_sync.copy import NotCopyable
from web.stripe_sync.events import keep


class SyncAlreadyRunning(RuntimeError):
    pass


# Called after each page with the counts so far and whether this run resumed an earlier one.
Progress = Callable[[StripeSync, bool], None]


async def backfill(
    pool: asyncpg.Pool, account: StripeAccount, *, since: date | None = None, progress: Progress | None = None
) -> StripeSync:
    """Copy every invoice of `account` (its own workspace's) created since `since`; the finished sync's counts.
    Raises SyncAlreadyRunning, or ProviderUnavailable (the progress so far is kept for the next run)."""
    assert account.workspace_id is not None, "only a workspace's own account imports invoices"
    workspace_id = account.workspace_id
    async with pool.acquire() as holder:  # holds the run's lock for as long as it runs
        if not await try_lock_sync(holder, workspace_id):
            raise SyncAlreadyRunning(f"a Stripe sync of workspace {workspace_id} is already running")
        try:
            sync, resumed = await start_or_resume_sync(holder, workspace_id, since)
            return await _walk(pool, account, sync, resumed, progress)
        finally:
            await unlock_sync(holder, workspace_id)


async def _walk(
    pool: asyncpg.Pool, account: StripeAccount, sync: StripeSync, resumed: bool, progress: Progress | None
) -> StripeSync:
    rates: dict[str, str] = {}  # tax rate percentages, asked of Stripe once per run
    while True:
        try:
            invoices, has_more = await list_invoices(account.gateway, since=sync.since, starting_after=sync.cursor)
        except PaymentRefused:
            if sync.cursor is None:
                raise
            # The saved cursor is gone at Stripe (a draft deleted since): walk again from the newest; what is
            # already copied comes back unchanged.
            sync = dataclasses.replace(sync, cursor=None)
            continue
        counts = dataclasses.asdict(sync)
        counts["failed"] = list(sync.failed)
        for listed in invoices:
            if listed.get("status") == "draft":
                counts["skipped"] += 1
                continue
            try:
                whole = await complete_invoice(account.gateway, listed, rates)
                async with pool.acquire() as conn, conn.transaction():
                    outcome = await keep(conn, account, whole)
            except (NotCopyable, LookupError) as refused:
                counts["failed"].append({"id": str(listed.get("id")), "reason": str(refused)})
                continue
            counts[outcome if outcome in ("created", "updated", "unchanged") else "skipped"] += 1
        if invoices:
            # A finalized invoice is never deleted, so it stays a valid cursor; a draft may not.
            finalized = [listed for listed in invoices if listed.get("status") != "draft"]
            counts["cursor"] = str((finalized or invoices)[-1]["id"])
        sync = StripeSync(**counts)
        async with pool.acquire() as conn:
            sync = await save_sync_progress(conn, sync, finished=not has_more)
        if progress is not None:
            progress(sync, resumed)
        if not has_more:
            return sync
