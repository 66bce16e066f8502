"""Body framing against a real uvicorn process over a real socket: a 200 MB chunked body is cut off at the limit
without the process growing, a trickled body times out, a body cut short leaves the process healthy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.live import PIDS, portal_processes

CHUNK = b"a" * (64 * 1024)


@pytest.fixture(scope="module")
def origin(database_url: str) -> Iterator[str]:
    # The deployment's Stripe account (keys from the environment) gives /webhooks/stripe a body to read.
    stripe = {"STRIPE_SECRET_KEY": "sk_test_framing", "STRIPE_PUBLISHABLE_KEY": "pk_test_framing"}
    with portal_processes(
        database_url, 1, STRIPE_WEBHOOK_SECRET="whsec_live", BODY_TIMEOUT_SECONDS="1", PDF_WORKERS="1", **stripe
    ) as origins:
        yield origins[0]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def _connect(origin: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(origin)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def _status_of(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), 10)
    return int(line.split()[1])


async def test_a_200_mb_chunked_body_is_refused_at_the_limit_without_the_process_growing(origin: str) -> None:
    pid = PIDS[origin]
    before = _rss_mb(pid)
    reader, writer = await _connect(origin)
    writer.write(
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: portal\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n"
    )
    sent = 0
    answered = asyncio.create_task(_status_of(reader))
    with contextlib.suppress(ConnectionError):
        while sent < 200 * 1024 * 1024 and not answered.done():
            writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            await writer.drain()
            await asyncio.sleep(0)  # drain() need not yield: let the reader see an early answer
            sent += len(CHUNK)
    status = await answered
    writer.close()
    assert status == 413
    assert sent < 200 * 1024 * 1024  # answered long before the body ended
    assert _rss_mb(pid) - before < 50, (before, _rss_mb(pid))


async def test_a_trickled_body_times_out(origin: str) -> None:
    reader, writer = await _connect(origin)
    writer.write(b"POST /webhooks/stripe HTTP/1.1\r\nHost: portal\r\nContent-Length: 1000\r\n\r\n")
    started = asyncio.get_running_loop().time()
    answered = asyncio.create_task(_status_of(reader))
    with contextlib.suppress(ConnectionError):
        for _ in range(30):
            if answered.done():
                break
            writer.write(b"{")
            await writer.drain()
            await asyncio.sleep(0.2)
    assert await answered == 408
    assert asyncio.get_running_loop().time() - started < 3
    writer.close()


async def test_a_body_cut_short_leaves_the_process_serving(origin: str) -> None:
    for _ in range(5):
        _reader, writer = await _connect(origin)
        writer.write(b'POST /webhooks/stripe HTTP/1.1\r\nHost: portal\r\nContent-Length: 5000\r\n\r\n{"id":')
        await writer.drain()
        writer.close()
    async with httpx.AsyncClient(base_url=origin) as client:
        assert (await client.get("/healthz")).status_code == 200
