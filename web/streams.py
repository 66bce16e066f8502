"""Doorbells for open pages: the change feed's notifications fanned out to per-stream bounded queues.

An event says only *that* something happened ("comment" with its id, "invoice"); the page then fetches the
same fragments the polling fallback fetches, so the two paths cannot disagree. A stream whose queue is full
(a client that stopped reading) is dropped: its browser reconnects and catches up with one fetch.

Invoice pages subscribe to one invoice; the console's support inbox subscribes to a workspace. Notifications
carry only invoice ids, so the workspace of an invoice is looked up (by the stream, which has the database)
and remembered here: invoices never move between workspaces, and once known, another workspace's changes
never even reach the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from web.realtime import Change, ChangeFeed

log = logging.getLogger(__name__)


class Doorbell(NamedTuple):
    event: str  # "comment" | "invoice" for invoice streams; "change" | "resync" for workspace streams
    data: str


# The feed reconnected: anything may have happened meanwhile, so every page refetches both parts.
_CATCH_UP = (Doorbell("invoice", "resync"), Doorbell("comment", "resync"))
_WORKSPACE_CATCH_UP = Doorbell("resync", "resync")
# Invoice id -> workspace id. Bounded: when full it starts over, which only costs lookups again.
_MAX_KNOWN_WORKSPACES = 50_000


def _new_queue() -> asyncio.Queue[Doorbell | None]:
    return asyncio.Queue(StreamHub.queue_size)


@dataclass(eq=False, slots=True)
class Subscription:
    invoice_id: int
    # None is the hang-up: the stream ends and the browser reconnects.
    queue: asyncio.Queue[Doorbell | None] = field(default_factory=_new_queue)


@dataclass(eq=False, slots=True)
class WorkspaceSubscription:
    """Every change to the workspace's invoices (comments included); read it through `workspace_changes`."""

    workspace_id: int
    queue: asyncio.Queue[Doorbell | None] = field(default_factory=_new_queue)


WorkspaceLookup = Callable[[int], Awaitable[int | None]]
_S = TypeVar("_S", Subscription, WorkspaceSubscription)


class StreamHub:
    queue_size = 16

    def __init__(self, feed: ChangeFeed) -> None:
        self._by_invoice: dict[int, set[Subscription]] = {}
        self._by_workspace: dict[int, set[WorkspaceSubscription]] = {}
        self._workspace_of: dict[int, int] = {}
        self.dropped = 0
        self.detach = feed.subscribe(self._on_change, self._on_reset)

    @property
    def subscriber_count(self) -> int:
        return sum(len(subscriptions) for subscriptions in self._by_invoice.values()) + sum(
            len(subscriptions) for subscriptions in self._by_workspace.values()
        )

    def open(self, invoice_id: int) -> Subscription:
        subscription = Subscription(invoice_id)
        self._by_invoice.setdefault(invoice_id, set()).add(subscription)
        return subscription

    def open_workspace(self, workspace_id: int) -> WorkspaceSubscription:
        subscription = WorkspaceSubscription(workspace_id)
        self._by_workspace.setdefault(workspace_id, set()).add(subscription)
        return subscription

    def close(self, subscription: Subscription | WorkspaceSubscription) -> None:
        if isinstance(subscription, Subscription):
            _discard(self._by_invoice, subscription.invoice_id, subscription)
        else:
            _discard(self._by_workspace, subscription.workspace_id, subscription)

    async def workspace_changes(
        self, subscription: WorkspaceSubscription, lookup: WorkspaceLookup
    ) -> AsyncIterator[int | None]:
        """Ids of the subscription's workspace's invoices as they change, None after a feed reset (anything may
        have changed). Ends when the stream is hung up. `lookup` reads an invoice's workspace from the database;
        its answers are remembered, so each invoice is looked up once per process."""
        while (bell := await subscription.queue.get()) is not None:
            if bell.event != "change":
                yield None
                continue
            invoice_id = int(bell.data)
            workspace_id = self._workspace_of.get(invoice_id)
            if workspace_id is None:
                workspace_id = await lookup(invoice_id)
                if workspace_id is None:
                    continue
                self._remember(invoice_id, workspace_id)
            if workspace_id == subscription.workspace_id:
                yield invoice_id

    def _remember(self, invoice_id: int, workspace_id: int) -> None:
        if len(self._workspace_of) >= _MAX_KNOWN_WORKSPACES:
            self._workspace_of.clear()
        self._workspace_of[invoice_id] = workspace_id

    def _on_change(self, change: Change) -> None:
        subscriptions = self._by_invoice.get(change.invoice_id)
        if subscriptions:
            if change.comment_id is not None:
                bell = Doorbell("comment", str(change.comment_id))
            else:
                bell = Doorbell("invoice", str(change.invoice_id))
            for subscription in list(subscriptions):
                self._ring(subscription, bell)
        if self._by_workspace:
            self._ring_workspaces(change.invoice_id)

    def _ring_workspaces(self, invoice_id: int) -> None:
        known = self._workspace_of.get(invoice_id)
        if known is not None:
            targets = list(self._by_workspace.get(known, ()))
        else:
            # Not yet known: every workspace stream gets it and the first to look it up teaches the hub.
            targets = [subscription for group in self._by_workspace.values() for subscription in group]
        bell = Doorbell("change", str(invoice_id))
        for subscription in targets:
            self._ring(subscription, bell)

    def _on_reset(self) -> None:
        for subscriptions in list(self._by_invoice.values()):
            for subscription in list(subscriptions):
                for bell in _CATCH_UP:
                    self._ring(subscription, bell)
        for workspace_subscriptions in list(self._by_workspace.values()):
            for workspace_subscription in list(workspace_subscriptions):
                self._ring(workspace_subscription, _WORKSPACE_CATCH_UP)

    def _ring(self, subscription: Subscription | WorkspaceSubscription, bell: Doorbell) -> None:
        try:
            subscription.queue.put_nowait(bell)
        except asyncio.QueueFull:
            self.dropped += 1
            if isinstance(subscription, Subscription):
                log.info("dropping a slow event stream for invoice %s", subscription.invoice_id)
            else:
                log.info("dropping a slow event stream for workspace %s", subscription.workspace_id)
            self.hang_up(subscription)

    def hang_up(self, subscription: Subscription | WorkspaceSubscription) -> None:
        """End the stream: its browser reconnects (and, in the console, passes the session check again)."""
        self.close(subscription)
        queue = subscription.queue
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)


def _discard(groups: dict[int, set[_S]], key: int, subscription: _S) -> None:
    subscriptions = groups.get(key)
    if subscriptions is not None:
        subscriptions.discard(subscription)
        if not subscriptions:
            del groups[key]
