"""The HTTP edge under hostile framing: every answer carries the security headers (a 500 too), a body is bounded
whatever its framing, a trickled body times out, and a client that hangs up mid-body is not an error of ours."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.routing import Route

from tests import factories
from tests.conftest import AppVariant, asgi_client
from web.http.forms import LARGEST_BODY

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "cache-control")
CHUNK = 64 * 1024


def assert_security_headers(response: httpx.Response) -> None:
    missing = [name for name in SECURITY_HEADERS if name not in response.headers]
    assert not missing, (
        f"{response.request.method} {response.request.url.path} ({response.status_code}) lacks {missing}"
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def _boom(request: Any) -> None:
    raise RuntimeError("an internal name that must not leak: web.secret_module")


@pytest.fixture
async def edge_app(app_variant: AppVariant) -> AsyncIterator[LifespanManager]:
    """The real app with a short body timeout, plus one route that fails the way a bug would."""
    async with app_variant(body_timeout_seconds=0.5, routes=[Route("/boom", _boom)]) as manager:
        yield manager


def edge_client(manager: LifespanManager) -> httpx.AsyncClient:
    # raise_app_exceptions stays on: an exception escaping the app fails the test, as it drops a real connection.
    return asgi_client(manager)


async def test_an_unhandled_error_is_our_500_page_with_every_security_header(
    edge_app: LifespanManager, caplog: pytest.LogCaptureFixture
) -> None:
    async with edge_client(edge_app) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert_security_headers(response)
    assert "Something went wrong" in response.text
    assert "secret_module" not in response.text and "Traceback" not in response.text
    # Logged once, with the traceback, by our handler; not a second time by the server.
    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == ["web.http.errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/no/such/page"), ("DELETE", "/healthz"), ("GET", "/i/x/pdf/extra"), ("GET", "/static/missing.css")],
)
async def test_framework_answers_carry_the_security_headers(edge_app: LifespanManager, method: str, path: str) -> None:
    async with edge_client(edge_app) as client:
        response = await client.request(method, path)
    assert response.status_code in (404, 405)
    assert_security_headers(response)


class CountingBody:
    """A chunked request body (no Content-Length) that counts how much of it the app pulled."""

    def __init__(self, total: int, *, delay: float = 0.0, chunk: int = CHUNK) -> None:
        self.total, self.delay, self.chunk, self.sent = total, delay, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            if self.delay:
                await asyncio.sleep(self.delay)
            self.sent += self.chunk
            yield b"a" * self.chunk


async def test_a_chunked_body_is_cut_off_at_the_limit_on_every_endpoint_that_reads_one(
    edge_app: LifespanManager, conn: asyncpg.Connection
) -> None:
    issued = await factories.invoice(conn)
    paths = ["/webhooks/stripe", f"{issued.url}/comments/code", f"{issued.url}/payments", "/console/sign-in"]
    async with edge_client(edge_app) as client:
        for path in paths:
            body = CountingBody(200 * 1024 * 1024)
            response = await client.post(
                path, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
            )
            assert response.status_code == 413, path
            assert_security_headers(response)
            # The app stopped reading at its limit (at most the app-wide backstop), not at 200 MB.
            assert body.sent <= LARGEST_BODY + CHUNK, (path, body.sent)


async def test_a_body_that_arrives_too_slowly_times_out(edge_app: LifespanManager, conn: asyncpg.Connection) -> None:
    issued = await factories.invoice(conn)
    async with edge_client(edge_app) as client:
        for path in ("/webhooks/stripe", f"{issued.url}/comments/code"):
            started = asyncio.get_running_loop().time()
            response = await client.post(
                path,
                content=CountingBody(1000, delay=0.2, chunk=100),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 408, path
            assert asyncio.get_running_loop().time() - started < 1.5
            assert_security_headers(response)


async def test_a_non_numeric_content_length_is_a_clear_400(edge_app: LifespanManager) -> None:
    async with edge_client(edge_app) as client:
        response = await client.post("/webhooks/stripe", content=b"{}", headers={"content-length": "12abc"})
    assert response.status_code == 400
    assert "Content-Length" in response.text
    assert_security_headers(response)


async def test_a_client_that_hangs_up_mid_body_is_not_logged_as_an_error(
    edge_app: LifespanManager, conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    issued = await factories.invoice(conn)
    messages = iter(
        [{"type": "http.request", "body": b"name=Ann&email=a", "more_body": True}, {"type": "http.disconnect"}]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": f"{issued.url}/comments/code", "raw_path": f"{issued.url}/comments/code".encode(),
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"100"),
        ],
    }  # fmt: skip
    await edge_app.app(scope, receive, send)  # raises if the disconnect escaped as an error
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert sent[0]["status"] == 400
    assert (await conn.fetchval("SELECT count(*) FROM comment_code_requests")) == 0


async def test_a_nul_in_a_path_parameter_is_not_found_not_a_server_error(
    edge_app: LifespanManager, conn: asyncpg.Connection
) -> None:
    """Found by the deep sweep: an attempt key with NUL reached PostgreSQL, which cannot hold it (a 500)."""
    issued = await factories.invoice(conn)
    async with edge_client(edge_app) as client:
        for step in ("confirm", "return"):
            answer = await client.post(f"{issued.url}/payments/{'k' * 20}%00/{step}", data={"card_token": "tok_x"})
            assert answer.status_code == 404, step
            assert_security_headers(answer)
