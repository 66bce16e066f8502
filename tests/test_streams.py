"""The doorbell hub: fan-out from the real change feed to bounded per-stream queues; slow streams dropped."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from db.invoices import set_comment_settings
from tests import factories
from tests.browser import live_server
from tests.live import open_stream
from web.app import create_app
from web.pdf import PdfRenderer
from web.realtime import ChangeFeed, parse_payload
from web.settings import Settings
from web.streams import Doorbell, StreamHub


async def test_streams_fan_out_and_drop_a_reader_that_stopped_reading(
    conn: asyncpg.Connection, change_feed: ChangeFeed, settle
) -> None:
    issued = await factories.invoice(conn)
    await settle()
    hub = StreamHub(change_feed)
    try:
        keen, stuck = hub.open(issued.invoice.id), hub.open(issued.invoice.id)
        other = hub.open(issued.invoice.id + 1000)
        received: list[Doorbell] = []

        async def read() -> None:
            while (bell := await keen.queue.get()) is not None:
                received.append(bell)

        reader = asyncio.create_task(read())
        for i in range(StreamHub.queue_size + 4):
            await conn.execute(
                "INSERT INTO comments (invoice_id, author_role, author_name, body, client_key)"
                " VALUES ($1, 'staff', 'Sam', 'x', $2)",
                issued.invoice.id,
                f"key-{i:04d}-0123456789",
            )
            await settle()
        await asyncio.sleep(0)
        assert [bell.event for bell in received] == ["comment"] * (StreamHub.queue_size + 4)
        # The stuck reader's queue filled up: it was hung up (None) and unsubscribed; the others were not.
        assert stuck.queue.get_nowait() is None and hub.dropped == 1
        assert other.queue.empty() and hub.subscriber_count == 2
        reader.cancel()
    finally:
        hub.detach()


def test_streams_notification_payloads() -> None:
    assert parse_payload("42") == (42, None)
    assert parse_payload("42:comment:7") == (42, 7)
    for junk in ("", "x", "42:comment:", "42:comment:x", "-1", "sync:1"):
        assert parse_payload(junk) is None


async def test_streams_serve_the_invoice_doorbell_when_comments_are_off(
    settings: Settings, pdf_renderer: PdfRenderer, conn: asyncpg.Connection
) -> None:
    """The summary's `invoice` doorbell comes through the same stream, so hiding the thread must not close it."""
    issued = await factories.invoice(conn)
    await set_comment_settings(conn, issued.invoice.id, mode="customer", require_totp=False, enabled=False)
    async with (
        live_server(create_app(settings, pdf_renderer=pdf_renderer)) as origin,
        httpx.AsyncClient(base_url=origin, timeout=None) as client,
    ):
        page = await client.get(issued.url)
        assert 'id="comments"' not in page.text and "comments/stream" in page.text
        assert (await client.get(f"{issued.url}/comments?after=0", headers={"HX-Request": "true"})).status_code == 404
        async with open_stream(client, f"{issued.url}/comments/stream") as stream:
            await conn.execute("UPDATE invoices SET notes = 'changed' WHERE id = $1", issued.invoice.id)
            assert await stream.next_event(within=5) == ("invoice", str(issued.invoice.id))


async def test_the_change_feed_reconnects_after_an_error_it_did_not_foresee(
    database_url: str, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suite run once saw asyncpg's InternalClientError from the listener's ping after the server ended its
    backend: the feed's task ended, and every page bypassed its cache from then on. Any error now reconnects."""
    import web.realtime

    real_ping = web.realtime.ping
    failures = [RuntimeError("cannot switch to state 12; another operation (2) is in progress")]

    async def ping_once_broken(connection: asyncpg.Connection, *, within: float) -> None:
        if failures:
            raise failures.pop()
        await real_ping(connection, within=within)

    monkeypatch.setattr(web.realtime, "ping", ping_once_broken)
    feed = ChangeFeed(database_url, ping_interval=0.1, max_backoff=0.1)
    heard: list[int] = []
    feed.subscribe(lambda change: heard.append(change.invoice_id))
    await feed.start()
    try:
        for _ in range(200):  # the broken ping, then a new connection
            if not failures and feed.connected:
                break
            await asyncio.sleep(0.02)
        assert not failures and feed.connected
        issued = await factories.invoice(conn)
        await feed.sync(conn)
        assert issued.invoice.id in heard
    finally:
        await feed.stop()
