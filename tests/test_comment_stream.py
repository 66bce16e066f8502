"""Realtime across two portal processes on one PostgreSQL (LISTEN/NOTIFY fan-out), stream clean-up on
disconnect, and recovery after the database restarts. The database is a private pgserver, so it can restart."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from db.migrate import migrate
from db.rows import init_connection
from tests import factories
from tests.live import open_stream, portal_processes
from tests.mailbox import Mailbox
from tests.threads import HX, grant_access, post_comment


@pytest.fixture(scope="module")
def private_server() -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    data_dir = Path(tempfile.mkdtemp(prefix="invoice-portal-stream-"))
    server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
async def private_url(private_server: Any) -> str:
    url = private_server.get_uri()
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


@pytest.fixture(scope="module")
def portals(private_url: str, smtp: Mailbox) -> Iterator[list[str]]:
    with portal_processes(private_url, 2, SMTP_URL=smtp.url) as origins:
        yield origins


@pytest.fixture
async def private_conn(private_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(private_url)
    await init_connection(conn)
    try:
        yield conn
    finally:
        await conn.close()


async def _streams_open(origin: str) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{origin}/healthz")).json()["streams"]


async def test_comment_stream_reaches_a_reader_on_the_other_process(
    portals: list[str], private_conn: asyncpg.Connection, mailbox: Mailbox
) -> None:
    writer_origin, reader_origin = portals
    issued = await factories.invoice(private_conn, ws=await factories.workspace(private_conn, slug="stream-a"))
    async with (
        httpx.AsyncClient(base_url=writer_origin, timeout=10) as writer,
        httpx.AsyncClient(base_url=reader_origin, timeout=None) as reader,
    ):
        async with open_stream(reader, f"{issued.url}/comments/stream") as stream:
            assert await _streams_open(reader_origin) == 1
            await grant_access(writer, issued, mailbox)
            sent = time.monotonic()
            posted = await post_comment(writer, issued, "Across processes")
            assert posted.status_code == 200
            event, data = await stream.next_event(within=2)
            latency = time.monotonic() - sent
            comment_id = await private_conn.fetchval("SELECT max(id) FROM comments")
            assert (event, data) == ("comment", str(comment_id)) and latency < 1.0
            # The doorbell's fetch finds the comment: it was committed before anyone was told.
            tail = await reader.get(f"{issued.url}/comments?after=0", headers=HX)
            assert "Across processes" in tail.text

            # Any other change to the invoice rings the "invoice" bell (the summary's refresh).
            await private_conn.execute("UPDATE invoices SET notes = 'changed' WHERE id = $1", issued.invoice.id)
            assert await stream.next_event(within=2) == ("invoice", str(issued.invoice.id))
        await _eventually(lambda: _streams_open(reader_origin), 0)


async def test_comment_stream_many_readers_and_clean_up(portals: list[str], private_conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(private_conn, ws=await factories.workspace(private_conn, slug="stream-b"))
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(timeout=None, limits=limits) as client, contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(open_stream(client, f"{origin}{issued.url}/comments/stream"))
            for origin in portals
            for _ in range(10)
        ]
        assert [await _streams_open(origin) for origin in portals] == [10, 10]
        await private_conn.execute(
            "INSERT INTO comments (invoice_id, author_role, author_name, body, client_key)"
            " VALUES ($1, 'staff', 'Sam', 'hello all', 'k0123456789abcdef')",
            issued.invoice.id,
        )
        events = await asyncio.gather(*(stream.next_event(within=2) for stream in streams))
        assert {event for event, _ in events} == {"comment"} and len(events) == 20
    for origin in portals:
        await _eventually(lambda origin=origin: _streams_open(origin), 0)


async def test_comment_stream_recovers_after_the_database_restarts(
    portals: list[str], private_server: Any, private_conn: asyncpg.Connection, private_url: str, mailbox: Mailbox
) -> None:
    from pgserver._commands import pg_ctl

    issued = await factories.invoice(private_conn, ws=await factories.workspace(private_conn, slug="stream-c"))
    writer_origin, reader_origin = portals
    async with (
        httpx.AsyncClient(base_url=writer_origin, timeout=10) as writer,
        httpx.AsyncClient(base_url=reader_origin, timeout=None) as reader,
    ):
        await grant_access(writer, issued, mailbox)
        started = await private_conn.fetchval("SELECT pg_postmaster_start_time()")
        async with open_stream(reader, f"{issued.url}/comments/stream") as stream:
            await private_conn.close()
            await asyncio.to_thread(
                pg_ctl, ["-w", "-m", "fast", "restart"], pgdata=private_server.pgdata, user=private_server.system_user
            )
            # The listener reconnects by itself and tells every open page to catch up.
            assert await stream.next_event(within=15) in {("invoice", "resync"), ("comment", "resync")}
            posted = await _post_until_accepted(writer, issued, "After the restart")
            assert posted.status_code == 200
            event, _ = await stream.next_event(within=5, skip=("invoice",))
            while event != "comment":
                event, _ = await stream.next_event(within=5, skip=("invoice",))
            tail = await reader.get(f"{issued.url}/comments?after=0", headers=HX)
            assert "After the restart" in tail.text
    check = await asyncpg.connect(private_url)
    try:
        assert await check.fetchval("SELECT pg_postmaster_start_time()") > started  # it really restarted
    finally:
        await check.close()


async def _post_until_accepted(client: httpx.AsyncClient, issued: factories.Issued, text: str) -> httpx.Response:
    """Right after a restart a request may meet a pool connection that died with it: it gets a 503 'try again'
    (never a 500), and trying again with the same key writes the comment once."""
    key = "restart-key-0123456789"
    for _ in range(50):
        answer = await post_comment(client, issued, text, key)
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(0.2)
    return answer


async def _eventually(probe: Any, expected: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while (value := await probe()) != expected:
        assert time.monotonic() < deadline, f"still {value}, expected {expected}"
        await asyncio.sleep(0.05)
