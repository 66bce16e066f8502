"""One LISTEN connection per process on 'invoice_changes', fanned out to in-process subscribers.

Subscribers are plain callbacks taking a Change: the page cache drops entries, the stream hub (web/streams.py)
rings the doorbell of every open page of that invoice. Payloads are '<invoice id>' for a change to the invoice
(its lines, links, payments, status), '<invoice id>:comment:<comment id>' for a new comment, and
'workspace:<workspace id>' for what all of a workspace's pages show (its wording, its default language), which
workspace subscribers hear (the page cache drops that workspace's invoices).
The listener reconnects by itself after the database restarts; while it is down `connected` is False and
callers must not trust anything cached, and on every (re)connect subscribers get `on_reset` because
notifications sent meanwhile were lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import NamedTuple

import asyncpg

from db.rows import Connection
from db.session import notify, ping
from db.wording import WORKSPACE_PREFIX

log = logging.getLogger(__name__)

CHANNEL = "invoice_changes"
_SYNC_PREFIX = "sync:"
_MAX_TRACKED = 100_000
# Shown in pg_stat_activity, so operators (and tests) can tell the listening connection apart.
APPLICATION_NAME = "invoice-portal-listener"


class Change(NamedTuple):
    invoice_id: int
    # Set when the change is a new comment in the invoice's thread.
    comment_id: int | None = None


def parse_payload(payload: str) -> Change | None:
    head, sep, rest = payload.partition(":comment:")
    if not head.isdigit() or (sep and not rest.isdigit()):
        return None
    return Change(int(head), int(rest) if sep else None)


class ChangeFeed:
    def __init__(self, url: str, *, ping_interval: float = 5.0, max_backoff: float = 5.0) -> None:
        self.url = url
        self.ping_interval = ping_interval
        self.max_backoff = max_backoff
        self.connected = False
        self._subscribers: list[Callable[[Change], None]] = []
        self._reset_subscribers: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        # A clock of what was seen: loaders read it before a database read and store the result only if
        # nothing about that invoice (and no reset) happened since.
        self._clock = itertools.count(1)
        self._now = 0
        self._last_change: dict[int, int] = {}
        self._last_workspace_change: dict[int, int] = {}
        self._workspace_subscribers: list[Callable[[int], None]] = []
        self._last_reset = 0
        self._sync_waiters: dict[str, asyncio.Future[None]] = {}
        self._ready = asyncio.Event()

    def subscribe(
        self, on_change: Callable[[Change], None], on_reset: Callable[[], None] | None = None
    ) -> Callable[[], None]:
        """Returns the call that unsubscribes both callbacks."""
        self._subscribers.append(on_change)
        if on_reset is not None:
            self._reset_subscribers.append(on_reset)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(on_change)
            if on_reset is not None:
                with contextlib.suppress(ValueError):
                    self._reset_subscribers.remove(on_reset)

        return unsubscribe

    def subscribe_workspaces(self, on_workspace: Callable[[int], None]) -> Callable[[], None]:
        """`on_workspace(workspace_id)` when something all of a workspace's pages show changed; returns the call
        that unsubscribes."""
        self._workspace_subscribers.append(on_workspace)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._workspace_subscribers.remove(on_workspace)

        return unsubscribe

    def stamp(self) -> int:
        return self._now

    def changed_since(self, invoice_id: int, stamp: int, workspace_id: int | None = None) -> bool:
        """True when a cached value read at `stamp` may be stale (or when the feed is down)."""
        if not self.connected:
            return True
        workspace_changed = workspace_id is not None and self._last_workspace_change.get(workspace_id, 0) > stamp
        return self._last_reset > stamp or self._last_change.get(invoice_id, 0) > stamp or workspace_changed

    async def start(self, *, wait: float = 5.0) -> None:
        self._task = asyncio.create_task(self._run(), name="change-feed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), wait)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.connected = False

    async def sync(self, conn: asyncpg.Connection, within: float = 5.0) -> None:
        """Wait until every change committed before this call has reached this process's subscribers.

        NOTIFYs are delivered in commit order, so our own marker arriving means earlier ones arrived.
        """
        marker = f"{_SYNC_PREFIX}{id(self)}:{next(self._clock)}"
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sync_waiters[marker] = waiter
        try:
            await notify(conn, CHANNEL, marker)
            await asyncio.wait_for(waiter, within)
        finally:
            self._sync_waiters.pop(marker, None)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.url, timeout=5, server_settings={"application_name": APPLICATION_NAME}
                )
                self._lost.clear()
                conn.add_termination_listener(lambda _conn: self._lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._reset()
                self.connected = True
                self._ready.set()
                backoff = 0.1
                log.info("change feed listening on %s", CHANNEL)
                while not self._lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), self.ping_interval)
                    if not self._lost.is_set():
                        # A half-open connection never terminates by itself: a ping finds out.
                        await ping(conn, within=self.ping_interval)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Whatever broke the listening connection, the feed reconnects: an error it did not foresee (a
                # suite run saw asyncpg's InternalClientError from a ping after the server ended the backend)
                # would otherwise end the task, and every page would bypass its cache until a restart.
                if self.connected:
                    log.warning("change feed lost its connection: %r; reconnecting", error)
            finally:
                self.connected = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 1)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def _reset(self) -> None:
        self._now = next(self._clock)
        self._last_reset = self._now
        self._last_change.clear()
        self._last_workspace_change.clear()
        for on_reset in self._reset_subscribers:
            on_reset()

    def _on_notify(self, _conn: Connection, _pid: int, _channel: str, message: object) -> None:
        payload = str(message)
        if payload.startswith(_SYNC_PREFIX):
            waiter = self._sync_waiters.get(payload)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        if payload.startswith(WORKSPACE_PREFIX) and payload[len(WORKSPACE_PREFIX) :].isdigit():
            # Something every page of a workspace shows changed (its wording, its default language).
            workspace_id = int(payload[len(WORKSPACE_PREFIX) :])
            self._now = next(self._clock)
            self._last_workspace_change[workspace_id] = self._now
            for on_workspace in self._workspace_subscribers:
                on_workspace(workspace_id)
            return
        change = parse_payload(payload)
        if change is None:
            log.warning("ignoring unexpected notification payload %r", payload[:100])
            return
        self._now = next(self._clock)
        if len(self._last_change) >= _MAX_TRACKED:
            self._reset()  # bounded memory: forgetting which invoices changed means treating all as changed
        # A comment changes the rendered page too (the thread is part of it), so it counts as a change.
        self._last_change[change.invoice_id] = self._now
        for on_change in self._subscribers:
            on_change(change)
