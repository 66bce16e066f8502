"""Doorbells for open invoice pages: the change feed's notifications fanned out to per-stream bounded queues.

An event says only *that* something happened ("comment" with its id, "invoice"); the page then fetches the
same fragments the polling fallback fetches, so the two paths cannot disagree. A stream whose queue is full
(a client that stopped reading) is dropped: its browser reconnects and catches up with one fetch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import NamedTuple

from web.realtime import Change, ChangeFeed

log = logging.getLogger(__name__)


class Doorbell(NamedTuple):
    event: str  # "comment" | "invoice"
    data: str


# The feed reconnected: anything may have happened meanwhile, so every page refetches both parts.
_CATCH_UP = (Doorbell("invoice", "resync"), Doorbell("comment", "resync"))


@dataclass(eq=False, slots=True)
class Subscription:
    invoice_id: int
    # None is the hang-up: the stream ends and the browser reconnects.
    queue: asyncio.Queue[Doorbell | None] = field(default_factory=lambda: asyncio.Queue(StreamHub.queue_size))


class StreamHub:
    queue_size = 16

    def __init__(self, feed: ChangeFeed) -> None:
        self._by_invoice: dict[int, set[Subscription]] = {}
        self.dropped = 0
        self.detach = feed.subscribe(self._on_change, self._on_reset)

    @property
    def subscriber_count(self) -> int:
        return sum(len(subscriptions) for subscriptions in self._by_invoice.values())

    def open(self, invoice_id: int) -> Subscription:
        subscription = Subscription(invoice_id)
        self._by_invoice.setdefault(invoice_id, set()).add(subscription)
        return subscription

    def close(self, subscription: Subscription) -> None:
        subscriptions = self._by_invoice.get(subscription.invoice_id)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._by_invoice[subscription.invoice_id]

    def _on_change(self, change: Change) -> None:
        subscriptions = self._by_invoice.get(change.invoice_id)
        if not subscriptions:
            return
        if change.comment_id is not None:
            bell = Doorbell("comment", str(change.comment_id))
        else:
            bell = Doorbell("invoice", str(change.invoice_id))
        for subscription in list(subscriptions):
            self._ring(subscription, bell)

    def _on_reset(self) -> None:
        for subscriptions in list(self._by_invoice.values()):
            for subscription in list(subscriptions):
                for bell in _CATCH_UP:
                    self._ring(subscription, bell)

    def _ring(self, subscription: Subscription, bell: Doorbell) -> None:
        try:
            subscription.queue.put_nowait(bell)
        except asyncio.QueueFull:
            self.dropped += 1
            log.info("dropping a slow event stream for invoice %s", subscription.invoice_id)
            self._hang_up(subscription)

    def _hang_up(self, subscription: Subscription) -> None:
        self.close(subscription)
        queue = subscription.queue
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)
